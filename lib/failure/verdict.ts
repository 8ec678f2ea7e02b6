// Failure-test verdicts, pure: a 1 s timeline of flow per exchange in, recovery, MTTR,
// isolation and the pass rules out.

import { THRESHOLDS } from "../k2/thresholds.ts";
import type { Status } from "../verdict/status.ts";

// t: ms since fault start; flow: trades landed in that second
export type Tick = { t: number; flow: Record<string, number>; containersOk: boolean };

/** Trades per second per exchange over the baseline ticks. */
export function baselineRates(ticks: Tick[], exchanges: string[]): Record<string, number> {
  return Object.fromEntries(
    exchanges.map((e) => [e, ticks.length ? ticks.reduce((a, k) => a + (k.flow[e] ?? 0), 0) / ticks.length : 0]),
  );
}

/**
 * Recovered: at or after the fault cleared, the containers are up and healthy and every
 * watched exchange has landed at least half its baseline rate over the last `window` ticks.
 */
export function recoveryAt(
  ticks: Tick[],
  baseline: Record<string, number>,
  watch: string[],
  clearedAt: number,
  window = 3,
): number | null {
  for (let i = 0; i < ticks.length; i++) {
    const k = ticks[i]!;
    if (k.t < clearedAt || !k.containersOk || i + 1 < window) continue;
    const recent = ticks.slice(i + 1 - window, i + 1);
    if (watch.every((e) => recent.reduce((a, x) => a + (x.flow[e] ?? 0), 0) >= 0.5 * (baseline[e] ?? 0) * window))
      return k.t;
  }
  return null;
}

/** During a one-exchange fault the others should keep their rate: within [0.5, 1.5] of baseline. */
export function isolation(ticks: Tick[], baseline: Record<string, number>, others: string[], from: number, to: number) {
  const during = ticks.filter((k) => k.t >= from && k.t < to);
  return others.map((e) => {
    const rate = during.length ? during.reduce((a, k) => a + (k.flow[e] ?? 0), 0) / during.length : 0;
    const ratio = baseline[e] ? rate / baseline[e]! : 0;
    return { exchange: e, rate, ratio, ok: ratio >= 0.5 && ratio <= 1.5 };
  });
}

export type Check = { name: string; status: Status; detail: string };
export type TestOutcome = {
  status: Status;
  mttrFromStartMs: number | null;
  mttrFromClearMs: number | null;
  notes: string[];
};

/**
 * PASS needs recovery within the target and every check passing; NOT CHECKED never passes a
 * check it needed. The target is judged on the time from clearing the fault to recovery: the
 * time from the fault's start also counts how long the test chose to hold it.
 */
export function testVerdict(
  targetMs: number,
  faultStart: number,
  clearedAt: number,
  recoveredAt: number | null,
  checks: Check[],
): TestOutcome {
  const notes = checks.filter((c) => c.status !== "PASS").map((c) => `${c.name}: ${c.status} (${c.detail})`);
  if (recoveredAt === null)
    return {
      status: "FAIL",
      mttrFromStartMs: null,
      mttrFromClearMs: null,
      notes: ["did not recover within the observation limit", ...notes],
    };
  const fromStart = recoveredAt - faultStart,
    fromClear = recoveredAt - clearedAt;
  let status: Status = fromClear <= targetMs ? "PASS" : "FAIL";
  if (status === "FAIL")
    notes.unshift(
      `recovery ${(fromClear / 1000).toFixed(1)} s after clearing, over the ${(targetMs / 1000).toFixed(0)} s target`,
    );
  if (checks.some((c) => c.status === "FAIL")) status = "FAIL";
  else if (status === "PASS" && checks.some((c) => c.status === "NOT CHECKED" || c.status === "WARN")) status = "WARN";
  return { status, mttrFromStartMs: fromStart, mttrFromClearMs: fromClear, notes };
}

/**
 * The milestone gate: every MTTR under 30 s, judged like each test's target from clearing the
 * fault (the time from its start also counts the hold, which the test chose: the brief's
 * partition holds 30 s by design). A test that did not recover fails it.
 */
export function milestoneGate(
  results: { test: string; mttrFromClearMs: number | null }[],
  limitMs = THRESHOLDS.milestoneMttrMs,
): { status: Status; over: string[] } {
  const over = results.filter((r) => r.mttrFromClearMs === null || r.mttrFromClearMs >= limitMs).map((r) => r.test);
  return { status: !results.length ? "NOT RUN" : over.length ? "FAIL" : "PASS", over };
}
