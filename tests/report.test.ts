import { describe, expect, test } from "bun:test";
import { JSDOM } from "jsdom";
import { marked } from "marked";
import { fmt, Report } from "../lib/report/document.ts";
import { minMaxBuckets } from "../lib/report/downsample.ts";
import { codeHtml, escapeHtml, html, markdownText, raw } from "../lib/report/html.ts";
import { Plot } from "../lib/report/plot.ts";
import { matchSnapshot, normalise } from "./helpers.ts";

const EVIL = `<script>alert("x")</script> & 'q' | *b* [l](http://x)`;

describe("markdown that reads as text", () => {
  const samples = [
    EVIL,
    "offload_watermarks, _private_ and __init__, a*b*c, **bold**, ~~gone~~",
    "p99 < 200 ms; <b>tag</b> </x> <!-- c --> a -> b, 3 > 2",
    "http://localhost:9090/api?x=1&y=2 www.example.com and default@localhost; @someone said &amp; &#60;",
    "`code` and \\ back\\slash \\| and [link](x) [ref] ![img](y)",
    "SELECT count() FROM k2.silver_trades WHERE exchange = 'kraken' | 1x | 5x",
    "line one\nline two",
  ];
  const textOf = (md: string) => {
    const doc = new JSDOM(marked.parse(md, { async: false, gfm: true }) as string).window.document;
    return { text: doc.body.textContent!.trim(), cells: doc.querySelectorAll("td").length };
  };
  test("GitHub-flavoured rendering gives the text back, as prose and as one table cell", () => {
    for (const s of samples) {
      const want = s.replace(/\s*\n\s*/g, " ");
      expect(textOf(`x ${markdownText(s)}`).text).toBe(`x ${want}`);
      const table = textOf(`| h |\n|---|\n| ${markdownText(s)} |`);
      expect([table.text.replace(/^h\s*/, ""), table.cells]).toEqual([want, 1]);
    }
  });
  test("no entity and no escape that the rendering does not need", () => {
    // the one "&#" left is the data's own (an entity typed in a value, escaped so that it prints as typed)
    expect(samples.map(markdownText).join("\n").match(/&#/g)).toEqual(["&#"]);
    expect(markdownText("offload_watermarks http://localhost:9090 < 200 ms a -> b")).toBe(
      "offload_watermarks http://localhost:9090 < 200 ms a -> b",
    );
    expect(markdownText("a | b <b> *x* _y_")).toBe("a \\| b \\<b> \\*x* \\_y_");
    expect(markdownText("(~50 msg/s) 2 * 3 _x")).toBe("(~50 msg/s) 2 * 3 _x");
  });
});

describe("html", () => {
  test("code breaks after operators, never inside a name, and stays escaped", () => {
    expect(codeHtml('sum(rate(k2_x{a="<b>"}[5m])) > 0').value).toBe(
      "<code>sum(<wbr>rate(<wbr>k2_x{<wbr>a=<wbr>&quot;&lt;<wbr>b&gt;<wbr>&quot;}[<wbr>5m])) &gt;<wbr> 0</code>",
    );
  });
  test("escapes every interpolated value; nested templates and raw pass through", () => {
    expect(html`<p>${EVIL}</p>`.value).toBe(`<p>${escapeHtml(EVIL)}</p>`);
    expect(html`<ul>${["<a>", html`<li>${"<b>"}</li>`]}</ul>`.value).toBe("<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>");
    expect(html`${raw("<hr>")}${null}${undefined}${false}${0}`.value).toBe("<hr>0");
  });
});

/** Normalise what changes between runs: Plot's generated class names, long decimals. */

function sample(): Report {
  const rows = [
    { exchange: EVIL, trades: 12345, p99: 0.123456, status: "PASS" },
    { exchange: "kraken", trades: 7, p99: 250.5, status: "FAIL" },
  ];
  return new Report("Sample <report>").md`Prose with a **bold** word and data ${EVIL} kept inert.`
    .table(
      rows,
      [
        { key: "exchange", label: "Exchange" },
        { key: "trades", label: "Trades" },
        { key: "p99", label: "p99 (ms)" },
        { key: "status", label: "Status" },
      ],
      { caption: "Counts", summary: true },
    )
    .figure({ width: 400, height: 200, marks: [Plot.barY(rows, { x: "exchange", y: "trades" })] }, "A figure")
    .note("UNRESOLVED", `Second-granular column ${EVIL}`);
}

describe("Report", () => {
  test("renderHtml: self-contained, escaped, with an SVG figure", () => {
    const page = sample().renderHtml({ subtitle: "run 1", footer: "footer" });
    expect(page).toContain("<svg");
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(page).not.toMatch(/@import|url\(\s*["']?https?:/i);
    expect(page).not.toMatch(/<a\b/); // data never becomes a link, not even by autolinking
    expect(page).toContain('<meta name="viewport"');
    expect(page).toContain("@media print");
    matchSnapshot("report.html", normalise(page));
  });
  test("renderMarkdown: summary tables and notes, pipes and tags neutralised", () => {
    const md = sample().renderMarkdown({ subtitle: "run 1" });
    expect(md).toContain("| Exchange | Trades | p99 (ms) | Status |");
    expect(md).not.toMatch(/(?<!\\)<script>/); // escaped, and so printed rather than run
    expect(marked.parse(md, { async: false, gfm: true }) as string).not.toMatch(/<script/i);
    expect(
      md
        .split("\n")
        .filter((l) => l.startsWith("| "))
        .every((l) => l.split(" | ").length === 4),
    ).toBe(true);
    matchSnapshot("report.md", md);
  });
});

test("fmt rounds for reading", () => {
  expect([fmt(1234567), fmt(0.0001234), fmt(12.345), fmt(1234.5), fmt(null)]).toEqual([
    "1,234,567",
    "0.000123",
    "12.35",
    "1235",
    "–",
  ]);
});

test("minMaxBuckets keeps peaks and bounds the size", () => {
  const rows = Array.from({ length: 100_000 }, (_, i) => ({ x: i, y: i === 54_321 ? 1e6 : Math.sin(i / 100) }));
  const out = minMaxBuckets(
    rows,
    (r) => r.x,
    (r) => r.y,
    1000,
  );
  expect(out.length).toBeLessThanOrEqual(1000);
  expect(out.some((r) => r.y === 1e6)).toBe(true);
  expect(out.map((r) => r.x)).toEqual([...out.map((r) => r.x)].sort((a, b) => a - b));
});
