// Step 3's stored run, typed: what its fetch stores (one result per test, and what was
// restored or skipped), the milestone gate, and the summary other steps read.

import type { JournalEntry } from "../faults/journal.ts";
import type { Precondition } from "../health/summary.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { type Fetched, type RunData, runIdentity } from "../runtime/store.ts";
import { formatDuration } from "../runtime/units.ts";
import type { Criterion, Status, StepSummary } from "../verdict/status.ts";
import { MATRIX } from "./matrix.ts";
import { type Check, milestoneGate, type Tick } from "./verdict.ts";

export type FailureFetched = Fetched & {
  parameters: {
    tests: string[];
    hold: string;
    partition: string;
    rate: number;
    network: string;
    lab: boolean;
  };
  health: Precondition;
};

/** What a run found and restored from an interrupted earlier run's journal. */
type Restored = { entry: JournalEntry; ok: boolean; before: string; after: string; error?: string };
/** A test that did not run, and why. */
export type Skipped = { test: string; reason: string };
/** Which alerts fired during each test, from the Prometheus the run could reach (runs from before: none). */
export type AlertsSeen =
  | { prometheus: string; byTest: Record<string, { alert: string; afterMs: number }[]> }
  | { unavailable: string };
export type FailureMeta = { restored: Restored[]; skipped: Skipped[]; docker: string | null; alerts?: AlertsSeen };

type Loss = { landed: number; lost: number; duplicated: number; late: number };
export type Result = {
  test: string;
  id: number;
  title: string;
  container: string;
  action: string;
  analogue: string | null;
  ranAt: string;
  status: Status;
  faultStart: number;
  clearedAt: number;
  recoveredAt: number | null;
  mttrFromStartMs: number | null;
  mttrFromClearMs: number | null;
  targetMs: number;
  ticks: Tick[];
  checks: Check[];
  notes: string[];
  loss: Record<string, Loss> | null;
  lossHow?: string;
  lossBySymbol: { exchange: string; symbol: string; lost: number; duplicated: number; late: number }[];
  restore: { ok: boolean; attempts: number; error?: string };
};

/** The step fails when any test fails or the milestone gate does. */
export function failureVerdict(results: Result[]) {
  const gate = milestoneGate(results);
  return { gate, failed: results.some((r) => r.status === "FAIL") || gate.status === "FAIL" };
}

/** "6/6 faults recovered, slowest MTTR 5.6 s against 30 s": the figure the milestone gate decides on. */
function failureHeadline(results: Result[], gate: Status) {
  const recovered = results.filter((r) => r.mttrFromClearMs !== null);
  const slowest = recovered.reduce<Result | null>(
    (w, r) => (w === null || r.mttrFromClearMs! > w.mttrFromClearMs! ? r : w),
    null,
  );
  const bound = `${THRESHOLDS.milestoneMttrMs / 1000} s`;
  return (
    `${recovered.length}/${results.length} faults recovered` +
    (slowest
      ? `, slowest MTTR ${(slowest.mttrFromClearMs! / 1000).toFixed(1)} s (${slowest.title}) against ${bound}`
      : "") +
    `; milestone gate ${gate}`
  );
}

export async function failureSummary(run: RunData<FailureFetched>): Promise<StepSummary> {
  const results = await run.json<Result[]>("results");
  const { gate, failed } = failureVerdict(results);
  const status: Status = failed ? "FAIL" : results.length ? "PASS" : "NOT RUN";
  return {
    ...runIdentity(run.manifest),
    status,
    headline: failureHeadline(results, gate.status),
    criteria: failureCriteria(results),
  };
}

/** Step 3's acceptance: each test of the matrix passes within its MTTR target, and the milestone gate (< 30 s). */
function failureCriteria(results: Result[]): Criterion[] {
  const secs = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);
  const { gate } = failureVerdict(results);
  return [
    ...MATRIX.map((t): Criterion => {
      const r = results.find((x) => x.test === t.name);
      return {
        criterion: `${t.id}. ${t.title}: ${t.pass}; MTTR < ${formatDuration(t.targetMs)}`,
        status: r ? r.status : "NOT RUN",
        evidence: r
          ? `recovered ${secs(r.mttrFromClearMs)} after clearing (${secs(r.mttrFromStartMs)} from the fault)`
          : "not in this run",
      };
    }),
    {
      criterion: `Milestone gate: every MTTR < ${formatDuration(THRESHOLDS.milestoneMttrMs)}`,
      status: results.length < MATRIX.length && gate.status === "PASS" ? "UNRESOLVED" : gate.status,
      evidence: gate.over.length
        ? `over: ${gate.over.join(", ")}`
        : `${results.length} of ${MATRIX.length} tests ran, all within`,
    },
  ];
}
