// The sign-off report's parts: the Phase 7 checklist (every criterion of steps 1 to 5, its verdict, run and date), the
// drill's recovery times, the runbook checks, the runbooks themselves, and the docs blocks. Renderers into a Report.

import type { Report } from "../report/document.ts";
import { html } from "../report/html.ts";
import { Plot, STATUS_COLOR, statusScale } from "../report/plot.ts";
import { formatDuration } from "../runtime/units.ts";
import { runbooks } from "./catalog.ts";
import type { RunbookCheck } from "./checks.ts";
import type { DocBlock } from "./docs.ts";
import type { ChecklistRow, SignoffRecord } from "./summary.ts";

const s = (ms: number | null) => (ms === null ? "–" : `${(ms / 1000).toFixed(1)} s`);

export function checklistSection(doc: Report, rows: ChecklistRow[], rec: SignoffRecord) {
  const pass = rows.filter((r) => r.status === "PASS").length;
  doc.md`## The Phase 7 checklist`;
  doc.md`Every acceptance criterion of steps 1 to 5 (the step files'), judged from each step's newest stored run on
    ${rec.target}. Evidence older than ${formatDuration(rec.maxAgeMs)}, or measured on another target, never passes
    (UNRESOLVED, saying why). ${pass} of ${rows.length} criteria PASS.`;
  for (const st of rec.steps.filter((x) => x.problem))
    doc.note(st.status === "NOT RUN" ? "NOT RUN" : "UNRESOLVED", `${st.notebook}: ${st.problem}`);
  checklistStrip(doc, rows);
  doc.table(
    rows.map((r) => ({ ...r, step: String(r.step) })),
    [
      { key: "step", label: "Step" },
      { key: "criterion", label: "Criterion" },
      { key: "status", label: "Status" },
      { key: "evidence", label: "Evidence" },
      { key: "run", label: "Run" },
      { key: "date", label: "Date" },
    ],
    { caption: "Phase 7 acceptance criteria", summary: true },
  );
}

/** One strip per step, a cell per criterion in the table's order, coloured by its verdict. */
function checklistStrip(doc: Report, rows: ChecklistRow[]) {
  if (!rows.length) return;
  const nth = new Map<number, number>();
  const cells = rows.map((r) => {
    const n = (nth.get(r.step) ?? 0) + 1;
    nth.set(r.step, n);
    return { ...r, n, label: `Step ${r.step}` };
  });
  const steps = [...new Set(cells.map((c) => c.label))];
  doc.figure(
    {
      height: 50 + 34 * steps.length,
      marginLeft: 60,
      x: { label: "criterion", type: "band", tickSize: 0 },
      y: { label: null, domain: steps, tickSize: 0 },
      color: statusScale(cells.map((c) => c.status)),
      marks: [
        Plot.cell(cells, {
          x: "n",
          y: "label",
          fill: "status",
          inset: 1.5,
          title: (c: (typeof cells)[number]) => `${c.criterion}: ${c.status}`,
        }),
      ],
    },
    "The checklist at a glance: one strip per step, one cell per criterion in the table's order below, coloured by " +
      "its verdict.",
  );
}

export function drillSection(doc: Report, rec: SignoffRecord) {
  doc.md`## The drill: each runbook followed for real`;
  if (!rec.drills.length) {
    doc.note("NOT RUN", `No drill: ${rec.drillSkipped ?? "not asked"}.`);
    return;
  }
  doc.md`On the lab, each runbook's fault was applied; once its own verify check saw the failure, its resolution
    steps ran in order, for real (docker commands through the docker CLI; SQL on the lab's engine, since the lab's
    k2-clickhouse container is a stand-in). Seen failing is when the runbook's verify check (over the last
    ${rec.names.windowS} s of silver, twice the flush interval, or the newest offload run) first saw the fault;
    recovered is from the fault to that check passing again.
    The target is the runbook's MTTR and at most 15 minutes.`;
  const target = new Map(runbooks(rec.names).map((r) => [r.name, r.mttrTargetMs]));
  doc.table(
    rec.drills.map((d) => ({
      runbook: d.runbook,
      target: formatDuration(target.get(d.runbook as never) ?? 0),
      recovered: s(d.recoveredMs),
      detected: s(d.detectedMs ?? null),
      resolution: s(d.resolutionMs),
      steps: d.steps.map((x) => `${x.ran ? "ran" : "skipped"}: ${x.command}`).join(" · "),
      status: d.status,
      note: d.note,
    })),
    [
      { key: "runbook", label: "Runbook" },
      { key: "target", label: "Target", align: "right" },
      { key: "detected", label: "Seen failing", align: "right" },
      { key: "recovered", label: "Recovered", align: "right" },
      { key: "resolution", label: "Commands took", align: "right" },
      { key: "status", label: "Status" },
      { key: "note", label: "Note" },
      { key: "steps", label: "Resolution steps" },
    ],
    { caption: "Drill recovery times", summary: true },
  );
  drillFigure(doc, rec.drills, target);
}

/** Per runbook: seen failing, then recovered (coloured by verdict), against its MTTR target, on a log scale. */
function drillFigure(doc: Report, drills: SignoffRecord["drills"], target: Map<string, number>) {
  const timed = drills.filter((d) => d.recoveredMs !== null || d.detectedMs != null);
  if (!timed.length) return;
  // a log scale has no zero: bars start at 1 s, and anything quicker is drawn at 1 s
  const sec = (ms: number) => Math.max(1, ms / 1000);
  const seen = timed.filter((d) => d.detectedMs != null).map((d) => ({ runbook: d.runbook, s: sec(d.detectedMs!) }));
  const recovered = timed
    .filter((d) => d.recoveredMs !== null)
    .map((d) => ({ runbook: d.runbook, s: sec(d.recoveredMs!), status: d.status }));
  const targets = timed.flatMap((d) => {
    const t = target.get(d.runbook);
    return t === undefined ? [] : [{ runbook: d.runbook, s: t / 1000 }];
  });
  doc.figure(
    {
      height: 50 + 30 * timed.length,
      marginLeft: 150,
      x: { label: "seconds from the fault (log)", type: "log", grid: true },
      y: { label: null, domain: timed.map((d) => d.runbook) },
      color: statusScale(recovered.map((d) => d.status)),
      marks: [
        Plot.barX(recovered, { y: "runbook", x1: 1, x2: "s", fill: "status", fillOpacity: 0.85 }),
        Plot.dot(seen, { y: "runbook", x: "s", stroke: STATUS_COLOR.FAIL, fill: "white", r: 4, symbol: "diamond" }),
        Plot.tickX(targets, { y: "runbook", x: "s", stroke: "#1b1f24", strokeWidth: 2 }),
      ],
    },
    "Each runbook followed for real: recovered (bar, coloured by verdict), seen failing (diamond), and its MTTR " +
      "target (black tick).",
  );
}

export function checksSection(doc: Report, checks: RunbookCheck[]) {
  doc.md`## Runbooks checked`;
  doc.table(
    checks,
    [
      { key: "runbook", label: "Runbook" },
      { key: "check", label: "Check" },
      { key: "status", label: "Status" },
      { key: "detail", label: "Detail" },
    ],
    { caption: "Sections, links, alert names and commands" },
  );
}

export function runbooksSection(doc: Report, texts: Record<string, string>) {
  doc.md`## The runbooks`;
  doc.md`One markdown file each in out/05-runbooks/ (the platform's names, for docs/operations/runbooks/).`;
  for (const [file, text] of Object.entries(texts))
    doc.html(html`<details><summary><code>${file}</code></summary><pre>${text}</pre></details>`);
}

export function docsSection(doc: Report, blocks: DocBlock[], rec: SignoffRecord) {
  doc.md`## Measured values for the platform's documents`;
  doc.md`The measured values, block by block (also in out/05-runbooks/docs/). bun notebooks/05-runbooks.ts --write
    <platform checkout> fills the platform's own tables with them, in place, showing each change first.`;
  if (rec.written)
    doc.note(
      rec.written.skipped.length ? "WARN" : "PASS",
      `Written to ${rec.written.dir}: ${rec.written.changes.map((c) => c.path).join(", ") || "nothing changed"}` +
        (rec.written.skipped.length
          ? `; not written: ${rec.written.skipped.map((x) => `${x.doc} (${x.why})`).join("; ")}`
          : ""),
    );
  if (rec.written?.unfilled?.length)
    doc.note(
      "INFO",
      `Not filled (the documents have no place for them): ` +
        rec.written.unfilled.map((x) => `${x.doc}: ${x.why}`).join("; "),
    );
  for (const b of blocks)
    doc.html(html`<details><summary><code>${b.doc}</code> · ${b.name}</summary><pre>${b.body}</pre></details>`);
}
