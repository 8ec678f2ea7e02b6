// Verdicts every step shares. Imports nothing: steps, reports and alert rules all read it.

export type Status = "PASS" | "WARN" | "FAIL" | "SKIPPED" | "UNRESOLVED" | "NOT RUN" | "NOT CHECKED" | "INFO";

const RANK: Record<Status, number> = {
  FAIL: 4,
  WARN: 3,
  UNRESOLVED: 2,
  PASS: 1,
  SKIPPED: 0,
  INFO: 0,
  "NOT RUN": 0,
  "NOT CHECKED": 0,
};

/** The worst verdict among checks; a group that was only skipped is SKIPPED, not PASS. */
export const worst = (checks: { status: Status }[]): Status =>
  checks.reduce<Status>((w, c) => (RANK[c.status] > RANK[w] ? c.status : w), checks[0]?.status ?? "SKIPPED");

/** A span of time in epoch milliseconds, [fromMs, toMs). */
export type Window = { fromMs: number; toMs: number };

/**
 * What a step's stored run says, in one line and a verdict: the one thing other steps (the
 * sign-off above all) read from it. Each step's summary.ts derives it from a stored run.
 */
export type StepSummary = {
  notebook: string;
  runId: string;
  createdAt: string;
  target: string;
  /** embedded, server (ClickHouse), docker, files: which of the sign-off's targets the run is compared with */
  targetKind?: string;
  /** the lab, a stack, or generated files only (lib/runtime/store.ts measuredOn) */
  measured?: "lab" | "stack" | "files";
  status: Status;
  headline: string;
  /** the step's acceptance criteria (the step file's, FACTS.md) as this run meets them: the sign-off's checklist */
  criteria?: Criterion[];
};

/** One acceptance criterion, its verdict, and the measured evidence for it. */
export type Criterion = { criterion: string; status: Status; evidence: string };
