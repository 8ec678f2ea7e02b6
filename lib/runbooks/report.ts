// The sign-off report's parts: the Phase 7 checklist (every criterion of steps 1 to 5, its verdict, run and date), the
// drill's recovery times, the runbook checks, the runbooks themselves, and the docs blocks. Renderers into a Report.

import type { Report } from "../report/document.ts";
import { html } from "../report/html.ts";
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
