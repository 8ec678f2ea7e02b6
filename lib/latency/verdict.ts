// Latency verdicts, pure. Lags subtract two clocks (the exchange's and ours) and the
// ingestion clock may be coarse; these functions decide only what the numbers can decide.

import { flushFloor, type KafkaSettings } from "../k2/kafka.ts";
import { LATENCY_P99_TARGET_MS } from "../k2/thresholds.ts";
import { usageError } from "../runtime/errors.ts";
import type { Status } from "../verdict/status.ts";

export type Scenario = { name: string; multiple: number; rate: number; p99TargetMs: number; noLoss: boolean };
/** Phase 7 step 1: 1x ~50 msg/s p99 < 200 ms; 5x < 500 ms; 10x < 1 s and no data loss. */
export const SCENARIOS: Scenario[] = [
  { name: "1x", multiple: 1, rate: 50, p99TargetMs: LATENCY_P99_TARGET_MS["1x"], noLoss: true },
  { name: "5x", multiple: 5, rate: 250, p99TargetMs: LATENCY_P99_TARGET_MS["5x"], noLoss: true },
  { name: "10x", multiple: 10, rate: 500, p99TargetMs: LATENCY_P99_TARGET_MS["10x"], noLoss: true },
];

/**
 * A p99 against a target when the ingestion clock truncates to `resolutionMs`: the true lag
 * lies in [measured, measured + resolution), so only a p99 clear of the target on the right
 * side decides. A one-second clock can neither pass nor fail a 200 ms target from 150 ms.
 */
export function p99Verdict(p99Ms: number, targetMs: number, resolutionMs: number): { status: Status; why: string } {
  const res = resolutionMs >= 1000 ? `${resolutionMs / 1000} s` : `${resolutionMs} ms`;
  if (p99Ms >= targetMs) return { status: "FAIL", why: `p99 ${p99Ms.toFixed(1)} ms ≥ target ${targetMs} ms` };
  if (p99Ms + resolutionMs < targetMs)
    return { status: "PASS", why: `p99 ${p99Ms.toFixed(1)} ms < target ${targetMs} ms (clock resolution ${res})` };
  return {
    status: "UNRESOLVED",
    why:
      `p99 ${p99Ms.toFixed(1)} ms is within the ${res} resolution of the ingestion clock of the ${targetMs} ms ` +
      `target: the true p99 may be on either side`,
  };
}

export type LossCheck = { lost: number; duplicated: number; checkedBy: string } | { notChecked: string };

/** The share of a scenario's rate that must land for its verdict to speak for that rate. */
const ACHIEVED_SHARE = 0.8;

/** Scenario verdict: NOT RUN beats everything, loss fails, then the p99 decides. */
export function scenarioVerdict(
  sc: Scenario,
  r: { notRun?: string; trades: number; p99Ms: number; resolutionMs: number; loss: LossCheck; achievedRate?: number },
): { status: Status; notes: string[] } {
  if (r.notRun) return { status: "NOT RUN", notes: [r.notRun] };
  if (!r.trades) return { status: "NOT RUN", notes: ["no trades in the window"] };
  const notes: string[] = [];
  const v = p99Verdict(r.p99Ms, sc.p99TargetMs, r.resolutionMs);
  notes.push(v.why);
  let status = v.status;
  if ("notChecked" in r.loss) {
    notes.push(`loss NOT CHECKED: ${r.loss.notChecked}`);
    if (sc.noLoss && status === "PASS") status = "UNRESOLVED";
  } else if (r.loss.lost || r.loss.duplicated) {
    notes.push(`${r.loss.lost} lost, ${r.loss.duplicated} duplicated (${r.loss.checkedBy})`);
    if (sc.noLoss) status = "FAIL";
  } else notes.push(`no loss (${r.loss.checkedBy})`);
  // a load that fell short measured a lower rate than the scenario's: it cannot pass the scenario's target
  if (r.achievedRate !== undefined && r.achievedRate < ACHIEVED_SHARE * sc.rate) {
    notes.push(`load short: ${r.achievedRate.toFixed(1)} msg/s landed, under ${ACHIEVED_SHARE * 100}% of ~${sc.rate}`);
    if (status === "PASS") status = "UNRESOLVED";
  }
  return { status, notes };
}

export type Segment = {
  segment: string;
  budgetMs: number | null;
  p50Ms?: number;
  p99Ms?: number;
  source: string;
  /** the budget's segment (SEGMENTS' key) and the scenario measured */
  key?: string;
  scenario?: string;
};

/** The largest measured segment by p99 (ties by p50); null when nothing is measured. */
export function bottleneck(segments: Segment[]): Segment | null {
  const measured = segments.filter((s) => s.p99Ms !== undefined && s.budgetMs !== null);
  if (!measured.length) return null;
  return measured.reduce((a, b) =>
    b.p99Ms! > a.p99Ms! || (b.p99Ms === a.p99Ms && (b.p50Ms ?? 0) > (a.p50Ms ?? 0)) ? b : a,
  );
}

/**
 * The lag floor: a low quantile of lag bounds the clock offset (negative: the exchange's clock is ahead by at least
 * that).
 */
const fmtMs = (ms: number) => `${ms.toFixed(1)} ms`;

export function clockOffsetNote(floorMs: number, negativeShare: number): string {
  if (negativeShare > 0) {
    const share = `${(negativeShare * 100).toFixed(2)}%`;
    return `${share} of lags are negative: the exchange clock runs ahead of ours by at least ${fmtMs(-floorMs)}`;
  }
  return `no negative lags; lag floor ${floorMs.toFixed(1)} ms bounds delay plus clock offset`;
}

/** A scenario by its name, for --scenarios: 1x, 5x or 10x. */
export function scenarioByName(name: string, flag: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw usageError(`invalid ${flag}: unknown scenario ${JSON.stringify(name)} (expected 1x, 5x or 10x)`);
  return s;
}

export type FloorRow = {
  scenario: string;
  meanWaitMs: number;
  p99WaitMs: number;
  targetMs: number;
  attainable: boolean;
};

/**
 * The wait the Kafka engine's flush rule alone adds at each scenario's rate, before anything is measured. The busiest
 * table (the largest exchange share) fills its blocks soonest, so its wait is the lowest any trade can see: a target
 * below it cannot be met however the rest is tuned.
 */
export function flushFloors(
  settings: KafkaSettings[],
  scenarios: Pick<Scenario, "name" | "rate" | "p99TargetMs">[],
  busiestShare: number,
): FloorRow[] {
  if (!settings.length) return [];
  return scenarios.map((s) => {
    const floors = settings.map((k) => flushFloor(k, s.rate * busiestShare));
    const f = floors.reduce((a, b) => (b.p99WaitMs < a.p99WaitMs ? b : a));
    return { scenario: s.name, ...f, targetMs: s.p99TargetMs, attainable: f.p99WaitMs < s.p99TargetMs };
  });
}

/**
 * The flush rule is the bottleneck when the measured p99 is where its floor puts it: the floor accounts for at least
 * half of the measured p99, and the measurement is not below 80% of it (the floor assumes arrivals spread evenly; a few
 * seconds of traffic land a little under it). K2's 7.5 s: floor 7425 ms, measured ~7540 ms. A 100 ms flush: floor
 * 99 ms, measured ~300 ms, so the other segments are the bottleneck.
 */
export function floorIsBottleneck(floor: FloorRow | undefined, p99Ms: number | null): boolean {
  return !!floor && p99Ms !== null && p99Ms >= 0.8 * floor.p99WaitMs && floor.p99WaitMs >= 0.5 * p99Ms;
}
