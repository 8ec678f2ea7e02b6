// One PR bundle from what is in out/ and the stored runs: out/index.html (every step's verdict and key figure on one
// screen, each linked to its report), out/pr.md (one pull-request description with every step's tables and verdict,
// under GitHub's 65,536-character limit, saying what was cut if it must be), and out/png/ (each report's figures as
// PNG, for PR comments where HTML is not shown, rendered by resvg: no browser). Renderers return text or bytes; the
// writer is passed in.
import { Resvg } from "@resvg/resvg-js";
import { Report } from "../report/document.ts";
import { html, markdownText } from "../report/html.ts";
import type { Status } from "../verdict/status.ts";
import type { StepEvidence } from "./evidence.ts";

const PR_BODY_LIMIT = 65_536;

export type BundleStep = Pick<
  StepEvidence,
  "notebook" | "title" | "status" | "headline" | "run" | "problem" | "criteria"
> & {
  step: number;
  /** the report's markdown summary, when out/ has it */
  markdown: string | null;
  /** the main job's outcome for this notebook, when it ran it */
  outcome?: { code: number; seconds: number };
};

const TAG = "v2-phase-7-complete";
type OpenCriterion = { step: number; title: string; criterion: string; status: Status; reason: string };

/**
 * Can the phase be tagged? Only when every step has a current run, every criterion PASSes and no run measured the
 * lab. `open` lists what is not PASS, each with its one-line reason (a step without a run counts as one).
 */
export function phaseAnswer(steps: BundleStep[]) {
  const open: OpenCriterion[] = steps.flatMap((s) => {
    const at = { step: s.step, title: s.title };
    if (s.problem || !s.criteria.length)
      return s.status === "PASS"
        ? []
        : [
            {
              ...at,
              criterion: s.problem ? "a current stored run" : "its verdict",
              status: s.status,
              reason: s.problem ?? s.headline,
            },
          ];
    return s.criteria
      .filter((c) => c.status !== "PASS")
      .map((c) => ({ ...at, criterion: c.criterion, status: c.status, reason: firstSentence(c.evidence) }));
  });
  const total = steps.reduce((n, s) => n + Math.max(1, s.criteria.length), 0);
  const lab = steps.filter((s) => s.run?.measured === "lab").map((s) => s.step);
  const stack = steps.filter((s) => s.run?.measured === "stack").map((s) => s.step);
  const tag = !open.length && !lab.length;
  const why = [
    open.length ? `${open.length} of ${total} criteria are not PASS` : "",
    lab.length ? `the runs of step${lab.length > 1 ? "s" : ""} ${list(lab)} measured the lab, not a stack` : "",
  ].filter(Boolean);
  const answer = tag
    ? `Yes: every criterion of steps 0 to 5 PASSes on runs of the stack. Tag ${TAG}.`
    : `Not yet: ${why.join(", and ")}. Tag ${TAG} once they PASS on the stack.`;
  const on = (what: string, n: number[]) => (n.length ? [`${what} (step${n.length > 1 ? "s" : ""} ${list(n)})`] : []);
  const where = [...on("the lab", lab), ...on("a stack", stack)];
  const measured = where.length ? `Measured on ${where.join(" and ")}.` : "No run measured the lab or a stack.";
  return { tag, answer, measured, open };
}

/** The step's deciding figure; a run that does not count keeps its figure and says why it does not. */
const decides = (step: BundleStep) =>
  !step.problem ? step.headline : step.run ? `${step.headline} (does not count: ${step.problem})` : step.problem;
const list = (steps: number[]) => [...new Set(steps)].join(", ");
/** A criterion's evidence up to its first "; " or sentence end: the one-line reason. */
const firstSentence = (s: string) => s.split(/(?<=[.;])\s/)[0]!.replace(/[.;]$/, "");

const HEAD = ["Step", "Report", "Verdict", "What decides it", "Measured", "Run", "Summary", "Main job"];

function indexHtml(steps: BundleStep[], generated: string): string {
  const doc = new Report("K2 Phase 7 hardening");
  const a = phaseAnswer(steps);
  doc.note(a.tag ? "PASS" : "FAIL", `Can we tag ${TAG}? ${a.answer}`);
  doc.md`${a.measured} Each step's verdict and the figure that decides it, linked to its report (one self-contained
    HTML file, with a markdown summary beside it); the pull-request description is pr.md, the figures as PNG are in
    png/.`;
  const badge = (status: Status) =>
    html`<span class="badge ${status.toLowerCase().replace(/\s+/g, "-")}">${status}</span>`;
  const row = (entry: BundleStep) => {
    const when = entry.run ? html`<code>${entry.run.runId}</code>` : html`–`;
    const time = entry.outcome
      ? html`${entry.outcome.code === 0 ? "" : `exit ${entry.outcome.code}, `}${entry.outcome.seconds.toFixed(1)} s`
      : html`–`;
    const cells = [
      html`${entry.step}`,
      html`<a href="${entry.notebook}.html">${entry.title}</a>`,
      badge(entry.status),
      html`${decides(entry)}`,
      html`${entry.run?.measured ?? "–"}`,
      when,
      html`<a href="${entry.notebook}.md">md</a>`,
      time,
    ];
    const cls = ["", "", "", "", "token", "token", "", "right"];
    return html`<tr>${cells.map((c, i) => html`<td class="${cls[i]}" data-label="${HEAD[i]}">${c}</td>`)}</tr>`;
  };
  const head = HEAD.map((h) => html`<th>${h}</th>`);
  doc.html(
    html`<div class="table cards"><table><thead><tr>${head}</tr></thead><tbody>${steps.map(row)}</tbody></table></div>`,
  );
  if (a.open.length) {
    doc.md`## Not PASS yet`;
    const item = (open: OpenCriterion) =>
      html`<li>${badge(open.status)} <b>Step ${open.step}</b> · ${open.criterion}: ${open.reason}</li>`;
    doc.html(html`<ul class="open">${a.open.map(item)}</ul>`);
  }
  return doc.renderHtml({ subtitle: `generated ${generated}`, footer: "k2-hardening · bun run bundle" });
}

/**
 * The PR description: a verdict table, then each step's markdown summary in a collapsed section. Over the limit, the
 * largest sections are replaced by a pointer to their report, largest first, until it fits; `cut` names them.
 */
export function prBody(steps: BundleStep[], limit = PR_BODY_LIMIT): { text: string; cut: string[] } {
  const cell = markdownText;
  const answer = phaseAnswer(steps);
  const head = [
    "# K2 Phase 7 hardening",
    "",
    `**Can we tag ${TAG}?** ${cell(answer.answer)} ${cell(answer.measured)}`,
    "",
    "| Step | Report | Verdict | What decides it | Measured | Run |",
    "|---|---|---|---|---|---|",
    ...steps.map(
      (s) =>
        `| ${s.step} | ${s.notebook} | **${s.status}** | ${cell(decides(s))} | ` +
        `${s.run?.measured ?? "–"} | ${s.run?.runId ?? "–"} |`,
    ),
    "",
    ...(answer.open.length
      ? [
          "Not PASS yet:",
          "",
          ...answer.open.map((o) => `- **${o.status}** step ${o.step} · ${cell(o.criterion)}: ${cell(o.reason)}`),
          "",
        ]
      : []),
    "Each report is attached as one self-contained HTML file; figures as PNG.",
    "",
  ].join("\n");
  const sections = new Map(
    steps
      .filter((s) => s.markdown)
      .map((s) => [
        s.notebook,
        `<details><summary>${s.notebook}: ${s.status}</summary>\n\n${s.markdown}\n</details>\n`,
      ]),
  );
  const cut: string[] = [];
  const assemble = () => {
    const note = cut.length
      ? `\n> Cut to fit GitHub's ${limit.toLocaleString("en-US")}-character limit: ${cut.join(", ")} ` +
        "(see the attached " +
        "reports).\n"
      : "";
    return head + [...sections.values()].join("\n") + note;
  };
  let text = assemble();
  while (text.length > limit) {
    const largest = [...sections].filter(([n]) => !cut.includes(n)).sort((a, b) => b[1].length - a[1].length)[0];
    if (!largest) break;
    cut.push(largest[0]);
    sections.set(largest[0], `_${largest[0]}: cut (${largest[1].length} characters); see ${largest[0]}.html_\n`);
    text = assemble();
  }
  return { text, cut };
}

/** A report's figures: in each <figure>, its largest SVG (Plot's chart, not a legend's swatches); `max` of them. */
export function figuresOf(reportHtml: string, max = 3): string[] {
  const area = (svg: string) => {
    const w = /\bwidth="(\d+(?:\.\d+)?)"/.exec(svg)?.[1];
    const h = /\bheight="(\d+(?:\.\d+)?)"/.exec(svg)?.[1];
    return Number(w ?? 0) * Number(h ?? 0);
  };
  return [...reportHtml.matchAll(/<figure>([\s\S]*?)<\/figure>/g)]
    .map((f) => [...f[1]!.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]).sort((a, b) => area(b) - area(a))[0])
    .filter((svg): svg is string => !!svg)
    .slice(0, max);
}

/** One SVG as PNG on white, with the system's fonts (DejaVu on Debian). */
function pngOf(svg: string): Uint8Array {
  const withNs = svg.includes("xmlns=") ? svg : svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"');
  return new Resvg(withNs, {
    background: "white",
    fitTo: { mode: "zoom", value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" },
  })
    .render()
    .asPng();
}

export type BundleIo = {
  read(name: string): string | null;
  write(name: string, data: string | Uint8Array): Promise<void>;
};

/** Everything in one go: index.html, pr.md and the PNGs, from the steps' evidence and the reports in out/. */
export async function writeBundle(
  evidence: (StepEvidence & { step: number })[],
  io: BundleIo,
  outcomes = new Map<string, { code: number; seconds: number }>(),
) {
  const steps: BundleStep[] = evidence.map((e) => ({
    ...e,
    markdown: io.read(`${e.notebook}.md`),
    outcome: outcomes.get(e.notebook),
  }));
  await io.write("index.html", indexHtml(steps, `${new Date().toISOString().slice(0, 19)}Z`));
  const pr = prBody(steps);
  await io.write("pr.md", pr.text);
  const pngs: string[] = [];
  for (const s of steps) {
    const report = io.read(`${s.notebook}.html`);
    for (const [i, svg] of (report ? figuresOf(report) : []).entries()) {
      const name = `png/${s.notebook}-${i + 1}.png`;
      await io.write(name, pngOf(svg));
      pngs.push(name);
    }
  }
  return { prChars: pr.text.length, cut: pr.cut, pngs };
}
