// Step 5's stored run, typed: the sign-off's record (each step's evidence, the drill, the command checks, the measured
// values the runbooks and docs quote), the runbooks as rendered from it, step 5's criteria, the Phase 7 checklist, and
// the summary other readers take. Pure except the summary's read of the stored run.

import type { Change } from "../alerting/write.ts";
import type { ScenarioSummary } from "../latency/summary.ts";
import { type Fetched, type RunData, runIdentity } from "../runtime/store.ts";
import { type Criterion, type Status, type StepSummary, worst } from "../verdict/status.ts";
import { type Names, type Runbook, runbooks } from "./catalog.ts";
import { checkTexts, type RunbookCheck } from "./checks.ts";
import { docBlocks, type ResourceRow, type SegmentRow } from "./docs.ts";
import type { StepEvidence } from "./evidence.ts";
import { type Budget, type DrillResult, type Fired, type RunbookEvidence, renderRunbook } from "./render.ts";

export type SignoffFetched = Fetched & { parameters: { maxAge: string; write: string | null; drill: boolean } };

export type SignoffRecord = {
  target: string;
  maxAgeMs: number;
  names: Names;
  steps: StepEvidence[];
  /** null: not drilled, and why */
  drills: DrillResult[];
  drillSkipped: string | null;
  commands: RunbookCheck[];
  fired: Fired[];
  stepThree: {
    test: string;
    status: Status;
    mttrFromStartMs: number | null;
    runId: string;
    /** trades lost by exchange (null: not counted); the checks that failed (records before: absent) */
    lostBy?: Record<string, number> | null;
    failed?: string[];
  }[];
  budgets: Budget[];
  bottleneck: string | null;
  resources: { runId: string; rows: ResourceRow[] } | null;
  segments: { runId: string; rows: SegmentRow[] } | null;
  /** step 1's scenarios as its summary reads them (records before: absent) */
  scenarios?: { runId: string; tuning: string | null; rows: ScenarioSummary[] } | null;
  written: {
    dir: string;
    changes: Omit<Change, "before" | "after">[];
    /** documents not in the checkout */
    skipped: { doc: string; why: string }[];
    /** places a document does not have (a row, a table): said, not an error */
    unfilled?: { doc: string; why: string }[];
  } | null;
};

/** The steps whose evidence a runbook quotes: live fire (symptoms), step 3 (MTTR), step 2 and step 1 (prevention). */
const QUOTES = ["04-live-fire", "03-failure-modes", "02-burn-in", "01-latency"];

function runbookEvidence(book: Runbook, rec: SignoffRecord, verified: RunbookEvidence["verified"]): RunbookEvidence {
  const drill = rec.drills.find((d) => d.runbook === book.name) ?? null;
  const warnings = rec.steps
    .filter((s) => QUOTES.includes(s.notebook) && s.problem)
    .map((s) => `${s.notebook}: ${s.problem}`);
  if (!drill) warnings.push(`not drilled (${rec.drillSkipped ?? "no drill result"})`);
  else if (drill.status !== "PASS") warnings.push(`the drill ${drill.status}: ${drill.note}`);
  const three = rec.stepThree.find((t) => t.test === book.test) ?? null;
  if (three && three.status !== "PASS") warnings.push(`step 3's ${book.test} test ${three.status}`);
  return {
    fired: rec.fired.filter((f) => book.alerts.includes(f.alert)),
    stepThree: three,
    drill,
    budgets: rec.budgets.filter((b) => book.containers.includes(b.container)),
    bottleneck: rec.bottleneck,
    verified,
    warnings,
  };
}

/** Every runbook's markdown by file name, from the record. */
function runbookTexts(rec: SignoffRecord, verified: RunbookEvidence["verified"]): Record<string, string> {
  const books = runbooks(rec.names);
  return Object.fromEntries(books.map((r) => [r.file, renderRunbook(r, runbookEvidence(r, rec, verified))]));
}

/** Step 5's acceptance: five complete runbooks, their links and names right, drilled within target, docs carried. */
function signoffCriteria(rec: SignoffRecord, texts: RunbookCheck[]): Criterion[] {
  const of = (pred: (check: RunbookCheck) => boolean) => texts.filter(pred).concat(rec.commands.filter(pred));
  const crit = (criterion: string, checks: RunbookCheck[]): Criterion => ({
    criterion,
    status: checks.length ? worst(checks) : "NOT RUN",
    evidence: checks.some((c) => c.status !== "PASS")
      ? checks
          .filter((c) => c.status !== "PASS")
          .map((c) => `${c.runbook}: ${c.detail}`)
          .join("; ")
      : `${checks.length} checks PASS`,
  });
  const drills = rec.drills;
  const slow = drills.filter((d) => d.status !== "PASS");
  return [
    crit(
      "Five runbooks, each with Symptoms, Diagnosis, Resolution, Prevention, Related Monitoring, Post-Incident",
      of((c) => c.check === "template sections"),
    ),
    crit(
      "Every critical alert's runbook_url leads to a runbook with every template section",
      of((c) => c.check.startsWith("runbook_url")),
    ),
    crit(
      "Every alert a runbook names exists in the rules",
      of((c) => c.check === "alerts named exist"),
    ),
    crit(
      "Every command refers to containers, services, tables and columns that exist",
      of((c) => c.check === "commands refer to what exists"),
    ),
    {
      criterion: `Each runbook recovers in a drill within its MTTR target (and under ${15} min)`,
      status: !drills.length ? "NOT RUN" : slow.length ? worst(slow) : drills.length < 5 ? "UNRESOLVED" : "PASS",
      evidence: drills.length
        ? drills
            .map((d) => `${d.runbook} ${d.recoveredMs === null ? d.status : `${(d.recoveredMs / 1000).toFixed(1)} s`}`)
            .join(", ")
        : (rec.drillSkipped ?? "not drilled"),
    },
    {
      criterion: "Platform docs updated with measured values from named runs",
      status: rec.written ? (rec.written.skipped.length ? "UNRESOLVED" : "PASS") : "UNRESOLVED",
      evidence: rec.written
        ? `${rec.written.changes.length} files changed in ${rec.written.dir}` +
          (rec.written.skipped.length
            ? `; not written: ${rec.written.skipped.map((s) => `${s.doc} (${s.why})`).join("; ")}`
            : "") +
          (rec.written.unfilled?.length ? `; ${rec.written.unfilled.length} places the documents do not have` : "")
        : "blocks generated in out/05-runbooks/docs/; fill the platform's tables with --write <platform checkout>",
    },
  ];
}

export type ChecklistRow = Criterion & { step: number; notebook: string; run: string; date: string };

/** The Phase 7 checklist: every step's criteria (steps 1 to 5) with the run and date each comes from. */
function phase7Checklist(rec: SignoffRecord, step5: Criterion[], self: { runId: string; date: string }) {
  const rows: ChecklistRow[] = [];
  for (const s of rec.steps.filter((x) => x.step >= 1)) {
    const at = {
      step: s.step,
      notebook: s.notebook,
      run: s.run?.runId ?? "–",
      date: s.run?.createdAt.slice(0, 10) ?? "–",
    };
    if (!s.criteria.length)
      rows.push({ ...at, criterion: `${s.title}: a stored run`, status: s.status, evidence: s.problem ?? s.headline });
    for (const c of s.criteria) rows.push({ ...at, ...c });
  }
  for (const c of step5)
    rows.push({ step: 5, notebook: "05-runbooks", run: self.runId, date: self.date.slice(0, 10), ...c });
  return rows;
}

/**
 * Everything a sign-off record renders to, for one verification (run id, date, target): the runbooks' texts and their
 * checks, step 5's criteria, the Phase 7 checklist, and the docs blocks.
 */
export function signoffView(rec: SignoffRecord, verified: RunbookEvidence["verified"]) {
  const texts = runbookTexts(rec, verified);
  const textChecks = checkTexts(runbooks(rec.names), texts);
  const step5 = signoffCriteria(rec, textChecks);
  const rows = phase7Checklist(rec, step5, verified);
  const blocks = docBlocks({
    steps: rec.steps,
    signoff: { date: verified.date, criteria: step5 },
    resources: rec.resources,
    segments: rec.segments,
    complete: rows.every((r) => r.status === "PASS"),
  });
  return { texts, textChecks, step5, rows, blocks, pass: rows.filter((r) => r.status === "PASS").length };
}

export async function signoffSummary(run: RunData<SignoffFetched>): Promise<StepSummary> {
  const rec = await run.json<SignoffRecord>("signoff");
  const m = run.manifest;
  const { step5: criteria, rows, pass } = signoffView(rec, { runId: m.runId, date: m.createdAt, target: rec.target });
  return {
    ...runIdentity(m),
    status: worst(criteria),
    headline:
      `Phase 7 checklist ${pass}/${rows.length} PASS; ` +
      `drill ${rec.drills.filter((d) => d.status === "PASS").length}/5 within target`,
    criteria,
  };
}
