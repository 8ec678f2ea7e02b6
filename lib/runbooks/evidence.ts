// What the sign-off reads: each step's newest stored run, through the step's own summary (its verdict, headline and
// acceptance criteria). A step with no run is NOT RUN with the command that makes one; a run from a newer format, or
// one its reader cannot read, is refused by name (UNRESOLVED), never mis-read; evidence older than the stated limit,
// or from another target, never passes.

import { alertingSummary, liveFireSummary } from "../alerting/summary.ts";
import { burnInSummary } from "../burnin/summary.ts";
import { failureSummary } from "../failure/summary.ts";
import { healthSummary } from "../health/summary.ts";
import { latencySummary } from "../latency/summary.ts";
import { firstLine } from "../runtime/errors.ts";
import { labTargetKey } from "../runtime/paths.ts";
import { type Fetched, listRuns, openRun, type RunData, STORE_FORMAT } from "../runtime/store.ts";
import { formatDuration } from "../runtime/units.ts";
import type { Criterion, Status, StepSummary } from "../verdict/status.ts";

export type Step = { notebook: string; step: number; title: string; summarise(runId: string): Promise<StepSummary> };

/** A step whose runs its own summary reads; a run in a newer store format is refused before it is read. */
export function step<F extends Fetched>(
  notebook: string,
  n: number,
  title: string,
  read: (run: RunData<F>) => Promise<StepSummary>,
): Step {
  return {
    notebook,
    step: n,
    title,
    async summarise(runId) {
      const run = await openRun<F>(notebook, runId);
      const format = run.manifest.format ?? 1;
      if (format > STORE_FORMAT)
        throw new Error(`store format ${format}, from a newer k2-hardening (this one reads up to ${STORE_FORMAT})`);
      return read(run);
    },
  };
}

/** The steps the sign-off reads, in the Phase 7 order; `step` is the step file's number. */
export const STEPS: Step[] = [
  step("00-health", 0, "Health", healthSummary),
  step("01-latency", 1, "Latency benchmark", latencySummary),
  step("02-burn-in", 2, "Resource burn-in", burnInSummary),
  step("03-failure-modes", 3, "Failure modes", failureSummary),
  step("04-alerting", 4, "Alert rules and dashboard", alertingSummary),
  step("04-live-fire", 4, "Alerts fired live", liveFireSummary),
];

export type StepEvidence = {
  notebook: string;
  step: number;
  title: string;
  status: Status;
  headline: string;
  criteria: Criterion[];
  /** null: no run read */
  run: Pick<StepSummary, "runId" | "createdAt" | "target" | "targetKind" | "measured"> | null;
  /** why the run does not count (missing, unreadable, stale, another target) */
  problem?: string;
};

/** Now, the age limit, and the targets a run must have been measured on (by kind: ClickHouse, Docker). */
export type Freshness = { nowMs: number; maxAgeMs: number; clickhouse: string; docker: string | null };

/** The newest run of one step, judged for freshness against `f`. */
async function stepEvidence(entry: Step, freshness: Freshness): Promise<StepEvidence> {
  const base = { notebook: entry.notebook, step: entry.step, title: entry.title, criteria: [], run: null };
  const runs = await listRuns(entry.notebook);
  if (!runs.length) {
    const problem = `no stored run: bun notebooks/${entry.notebook}.ts makes one`;
    return { ...base, status: "NOT RUN", headline: problem, problem };
  }
  let summary: StepSummary;
  try {
    summary = await entry.summarise(runs.at(-1)!);
  } catch (e) {
    const problem =
      `run ${runs.at(-1)} of ${entry.notebook} cannot be read (${firstLine(e)}): ` +
      `re-run bun notebooks/${entry.notebook}.ts`;
    return { ...base, status: "UNRESOLVED", headline: problem, problem };
  }
  const run = {
    runId: summary.runId,
    createdAt: summary.createdAt,
    target: summary.target,
    targetKind: summary.targetKind,
    measured: summary.measured,
  };
  const problem = staleness(run, freshness);
  const demote = (criterion: Criterion): Criterion =>
    problem && criterion.status === "PASS"
      ? { ...criterion, status: "UNRESOLVED", evidence: `${criterion.evidence} (${problem})` }
      : criterion;
  return {
    ...base,
    run,
    status: problem && summary.status === "PASS" ? "UNRESOLVED" : summary.status,
    headline: summary.headline,
    criteria: (summary.criteria ?? []).map(demote),
    problem,
  };
}

const age = (ms: number) => (ms >= 86_400_000 ? `${(ms / 86_400_000).toFixed(1)} days` : formatDuration(ms));

/**
 * Why a run's evidence is not current: older than the limit, or measured on another target of its kind (a ClickHouse
 * run against the sign-off's ClickHouse, a Docker run against its Docker engine; generated files against nothing).
 */
export function staleness(
  run: { createdAt: string; target: string; targetKind?: string },
  freshness: Freshness,
): string | undefined {
  const ageMs = freshness.nowMs - Date.parse(run.createdAt);
  if (ageMs > freshness.maxAgeMs) return `stale: ${age(ageMs)} old, over the ${age(freshness.maxAgeMs)} limit`;
  const expected =
    run.targetKind === "embedded" || run.targetKind === "server"
      ? freshness.clickhouse
      : run.targetKind === "docker"
        ? freshness.docker
        : undefined;
  if (expected === null) return `measured on ${run.target}, and no Docker engine is reachable now to compare`;
  if (expected !== undefined && labTargetKey(run.target) !== labTargetKey(expected))
    return `from another target (${run.target}, not ${expected})`;
  return undefined;
}

export const readEvidence = (freshness: Freshness, steps = STEPS) =>
  Promise.all(steps.map((s) => stepEvidence(s, freshness)));

/** The newest run of a notebook, or null when there is none or it cannot be opened (its step's evidence says why). */
export async function openLatest<F extends Fetched>(notebook: string): Promise<RunData<F> | null> {
  const runs = await listRuns(notebook);
  if (!runs.length) return null;
  return openRun<F>(notebook, runs.at(-1)!).catch(() => null); // stepEvidence names why it cannot be read
}
