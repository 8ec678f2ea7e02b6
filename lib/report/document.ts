// A report is built top to bottom, as the notebook reads: prose, tables, figures, notes.
// It renders to two strings: one self-contained HTML page (inline CSS and SVG, nothing
// fetched, readable on a phone and in print) and a GitHub markdown summary for a PR.
// Renderers return strings; writing them is the notebook runtime's job.

import type * as PlotTypes from "@observablehq/plot";
import { marked } from "marked";
import type { Status } from "../verdict/status.ts";
import { codeHtml, escapeMarkdown, html, markdownText, raw, SafeHtml } from "./html.ts";
import { renderPlot } from "./plot.ts";
import { CSS } from "./style.ts";

export type Column<R> = {
  key: keyof R & string;
  label: string;
  format?: (v: any, row: R) => string;
  align?: "left" | "right";
  /** PromQL or SQL: set in code, with a break opportunity after each operator (html.ts codeHtml) */
  code?: boolean;
};

type Block = { html: SafeHtml; md?: string };

export class Report {
  private blocks: Block[] = [];
  constructor(readonly title: string) {}

  /**
   * Markdown prose; interpolated values are data and are escaped, except SafeHtml (e.g.
   * html`<code>${spec}</code>`), which goes in as the markup it already is. Headings also
   * go to the markdown summary.
   */
  md(strings: TemplateStringsArray, ...values: unknown[]): this {
    let text = strings[0]!;
    values.forEach((v, i) => (text += (v instanceof SafeHtml ? v.value : escapeMarkdown(v)) + strings[i + 1]!));
    text = dedent(text);
    this.blocks.push({
      html: raw(marked.parse(text, { async: false }) as string),
      md: /^#{1,3} /.test(text) ? text.split("\n")[0] : undefined,
    });
    return this;
  }

  /** A line of bold label and plain text, in the page and in the markdown summary (e.g. "Bottleneck identified"). */
  fact(label: string, text: string): this {
    this.blocks.push({
      html: html`<p><strong>${label}:</strong> ${text}</p>`,
      md: `**${mdText(label)}:** ${mdText(text)}`,
    });
    return this;
  }

  /** A table; with `summary` it also goes into the markdown summary. */
  table<R extends Record<string, any>>(
    rows: R[],
    columns: Column<R>[],
    opts: { caption?: string; summary?: boolean } = {},
  ): this {
    const cell = (column: Column<R>, r: R) => (column.format ? column.format(r[column.key], r) : fmt(r[column.key]));
    const align = (column: Column<R>, r?: R) =>
      column.align ?? (r && typeof r[column.key] === "number" ? "right" : "left");
    const body = rows.length
      ? rows.map(
          (r) =>
            html`<tr>${columns.map((c) => {
              const v = cell(c, r);
              // one word (an id, a name, a number) stays on one line; text wraps
              const token = typeof v === "string" && v.length <= 48 && !/\s/.test(v) ? " token" : "";
              const content = c.code ? codeHtml(v) : statusCell(v);
              return html`<td class="${align(c, r)}${token}" data-label="${c.label}">${content}</td>`;
            })}</tr>`,
        )
      : html`<tr><td colspan="${columns.length}" class="empty">no rows</td></tr>`;
    const caption = opts.caption ? html`<p class="caption">${opts.caption}</p>` : "";
    const head = columns.map((c) => html`<th class="${align(c, rows[0])}">${c.label}</th>`);
    const table = html`<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
    this.blocks.push({
      // more than three columns do not fit a phone: there each row reads as a card of "label: value" lines
      html: html`<div class="table${columns.length > 3 ? " cards" : ""}">${caption}${table}</div>`,
      md: opts.summary ? markdownTable(rows, columns, cell, opts.caption) : undefined,
    });
    return this;
  }

  /** A Plot figure rendered to inline SVG, with a caption under it. */
  figure(options: PlotTypes.PlotOptions, caption?: string): this {
    const plot = renderPlot({ style: { fontSize: "12px", overflow: "visible" }, ...options });
    this.blocks.push({
      html: html`<figure>${plot}${caption ? html`<figcaption>${caption}</figcaption>` : ""}</figure>`,
    });
    return this;
  }

  /** Trusted markup built with the `html` template (values in it are escaped). */
  html(block: SafeHtml, md?: string): this {
    this.blocks.push({ html: block, md });
    return this;
  }

  /** A callout: a verdict, a caveat, or what was skipped and why. Also goes to the summary. */
  note(status: Status, text: string): this {
    this.blocks.push({
      html: html`<p class="note ${cls(status)}"><span class="badge ${cls(status)}">${status}</span> ${text}</p>`,
      md: `> **${status}** ${mdText(text)}`,
    });
    return this;
  }

  renderHtml(meta: { subtitle: string; footer: string }): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html`${this.title}`}</title><style>${CSS}</style></head>
<body><main><header><h1>${html`${this.title}`}</h1><p class="subtitle">${html`${meta.subtitle}`}</p></header>
${this.blocks.map((b) => b.html.value).join("\n")}
</main><footer>${html`${meta.footer}`}</footer></body></html>
`;
  }

  renderMarkdown(meta: { subtitle: string }): string {
    return [
      `## ${mdText(this.title)}`,
      "",
      `_${mdText(meta.subtitle)}_`,
      "",
      ...this.blocks.flatMap((b) => (b.md ? [b.md, ""] : [])),
    ].join("\n");
  }
}

const cls = (status: Status) => status.toLowerCase().replace(/\s+/g, "-");
const STATUSES = new Set<string>(["PASS", "WARN", "FAIL", "SKIPPED", "UNRESOLVED", "NOT RUN", "NOT CHECKED", "INFO"]);
const statusCell = (text: string) =>
  STATUSES.has(text) ? html`<span class="badge ${cls(text as Status)}">${text}</span>` : text;

/** Numbers rounded for reading: integers with separators, others to 3 significant decimals. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number")
    return Number.isInteger(v)
      ? v.toLocaleString("en-US")
      : Math.abs(v) >= 100
        ? v.toFixed(0)
        : Math.abs(v) >= 1
          ? v.toFixed(2)
          : v.toPrecision(3);
  return String(v);
}

// Table cells and notes in the markdown summary: text as typed, escaped only where GitHub would render it otherwise.
const mdText = markdownText;

function markdownTable<R>(
  rows: R[],
  columns: Column<any>[],
  cell: (column: Column<any>, r: R) => string,
  caption?: string,
): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    ...(caption ? [`**${mdText(caption)}**`, ""] : []),
    line(columns.map((c) => mdText(c.label))),
    line(columns.map((c) => (c.align === "right" ? "---:" : "---"))),
    ...rows.map((r) => line(columns.map((c) => mdText(cell(c, r))))),
  ].join("\n");
}

function dedent(text: string): string {
  const lines = text.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines
    .map((l) => l.slice(Number.isFinite(indent) ? indent : 0))
    .join("\n")
    .trim();
}
