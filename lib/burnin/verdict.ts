// Burn-in analysis against the Phase 7 budgets, pure: tidy samples in, a verdict per service
// and for the stack out. Rules (step 2): no service over its CPU budget sustained (a brief
// spike under 2x budget is acceptable), none over its RAM budget, stack totals within
// budget, no OOM kill and no restart in the window, and no memory leak.

import type { Service } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { formatDuration } from "../runtime/units.ts";
import { quantileExact } from "../verdict/stats.ts";
import type { Status } from "../verdict/status.ts";
import { leakVerdict, type Trend, theilSen } from "../verdict/trend.ts";

export type Tidy = {
  round: number;
  ts: number;
  container: string;
  state: string;
  restarts: number | null;
  oomKilled: boolean;
  cpuCores: number | null;
  memBytes: number | null;
};
export type Rules = { spikeMaxSamples: number; leakMinMbPerHour: number };
export const DEFAULT_RULES: Rules = { spikeMaxSamples: 2, leakMinMbPerHour: 5 };

export type ServiceResult = {
  container: string;
  service: string;
  budgetCpu: number | null;
  budgetMemMb: number | null;
  samples: number;
  running: number;
  cpuP99: number | null;
  cpuMax: number | null;
  memMaxMb: number | null;
  overBudget: { runs: number; spikes: number; sustained: number };
  restarts: number;
  oom: boolean;
  trend: Trend | null;
  leak: "LEAK" | "FLAT" | "UNKNOWN";
  status: Status;
  notes: string[];
};

const MB = 1024 * 1024;

/**
 * CPU over budget as episodes: runs of consecutive samples above it. A run of at most `spikeMaxSamples` whose peak
 * stays under cpuSpikeFactor x budget is a spike (acceptable); any other is sustained.
 */
function overBudget(run: Tidy[], budgetCpu: number, rules: Rules) {
  const over = { runs: 0, spikes: 0, sustained: 0 };
  let len = 0,
    peak = 0;
  const close = () => {
    if (!len) return;
    over.runs++;
    if (len <= rules.spikeMaxSamples && peak < THRESHOLDS.cpuSpikeFactor * budgetCpu) over.spikes++;
    else over.sustained++;
    len = 0;
    peak = 0;
  };
  for (const r of run) {
    if (r.cpuCores! > budgetCpu) {
      len++;
      peak = Math.max(peak, r.cpuCores!);
    } else close();
  }
  close();
  return over;
}

export function analyseService(
  rows: Tidy[],
  svc: Service | undefined,
  container: string,
  rules: Rules = DEFAULT_RULES,
): ServiceResult {
  rows = [...rows].sort((a, b) => a.ts - b.ts);
  // a running container's first sample has no CPU (it comes from the counters between two rounds): it counts as running
  const running = rows.filter((r) => r.state === "running");
  const run = running.filter((r) => r.cpuCores !== null);
  const withMem = running.filter((r) => r.memBytes !== null);
  const cpu = run.map((r) => r.cpuCores!).sort((a, b) => a - b);
  const mem = withMem.map((r) => r.memBytes! / MB);
  const budgetCpu = svc?.budget?.cpu ?? null,
    budgetMemMb = svc?.budget?.memMb ?? null;
  const notes: string[] = [];
  let status: Status = "PASS";
  const fail = (note: string) => ((status = "FAIL"), notes.push(note));

  const over = budgetCpu === null ? { runs: 0, spikes: 0, sustained: 0 } : overBudget(run, budgetCpu, rules);
  if (over.sustained)
    fail(`CPU over its ${budgetCpu}-core budget, sustained (${over.sustained} of ${over.runs} episodes)`);
  else if (over.spikes)
    notes.push(
      `${over.spikes} brief CPU spikes over budget, each under 2x and at most ${rules.spikeMaxSamples} samples ` +
        `(acceptable)`,
    );
  const memMaxMb = mem.length ? Math.max(...mem) : null;
  if (budgetMemMb !== null && memMaxMb !== null && memMaxMb > budgetMemMb)
    fail(`RAM max ${memMaxMb.toFixed(0)} MB over its ${budgetMemMb} MB budget`);

  const counts = rows.map((r) => r.restarts).filter((x): x is number => x !== null);
  const restarts = counts.length ? Math.max(...counts) - counts[0]! : 0;
  if (restarts > 0) fail(`${restarts} restarts during the window`);
  const oom = rows.some((r) => r.oomKilled);
  if (oom) fail("OOM killed during the window");
  const down = rows.length - running.length;
  if (down && !svc?.oneShot) fail(`not running in ${down} of ${rows.length} samples`);

  const t0 = rows[0]?.ts ?? 0;
  const trend = theilSen(withMem.map((r) => ({ t: (r.ts - t0) / 3_600_000, y: r.memBytes! / MB })));
  const leak = leakVerdict(trend, rules.leakMinMbPerHour);
  if (leak === "LEAK")
    fail(
      `memory rising ${trend!.slope.toFixed(1)} MB/h (95% interval ${trend!.low.toFixed(1)} to ` +
        `${trend!.high.toFixed(1)}): leak`,
    );
  if (!svc) notes.push("not in the budget table");
  if (svc?.oneShot && status === "PASS") notes.push("one-shot container (exits by design)");
  return {
    container,
    service: svc?.service ?? container,
    budgetCpu,
    budgetMemMb,
    samples: rows.length,
    running: running.length,
    cpuP99: cpu.length ? quantileExact(cpu, 0.99) : null,
    cpuMax: cpu.length ? cpu.at(-1)! : null,
    memMaxMb,
    overBudget: over,
    restarts,
    oom,
    trend,
    leak,
    status,
    notes,
  };
}

export type StackTotals = {
  cpuP99: number;
  cpuMax: number;
  memMaxGb: number;
  budgetCpu: number;
  budgetGbPlan: number;
  budgetGbTable: number;
  cpuStatus: Status;
  memStatusPlan: Status;
  memStatusTable: Status;
};

/** Per round, the sum over services; the CPU p99 and RAM max of those sums against the stack budget. */
export function stackTotals(
  rows: Tidy[],
  budget: { cpu: number; memGbPlan: number; memGbTable: number },
): StackTotals | null {
  const rounds = new Map<number, { cpu: number; mem: number }>();
  for (const r of rows) {
    if (r.state !== "running" || r.cpuCores === null) continue;
    const x = rounds.get(r.round) ?? { cpu: 0, mem: 0 };
    x.cpu += r.cpuCores;
    x.mem += r.memBytes! / (1024 * MB);
    rounds.set(r.round, x);
  }
  if (!rounds.size) return null;
  const cpu = [...rounds.values()].map((x) => x.cpu).sort((a, b) => a - b);
  const memMaxGb = Math.max(...[...rounds.values()].map((x) => x.mem));
  const cpuP99 = quantileExact(cpu, 0.99);
  return {
    cpuP99,
    cpuMax: cpu.at(-1)!,
    memMaxGb,
    budgetCpu: budget.cpu,
    budgetGbPlan: budget.memGbPlan,
    budgetGbTable: budget.memGbTable,
    cpuStatus: cpuP99 <= budget.cpu ? "PASS" : "FAIL",
    memStatusPlan: memMaxGb <= budget.memGbPlan ? "PASS" : "FAIL",
    memStatusTable: memMaxGb <= budget.memGbTable ? "PASS" : "FAIL",
  };
}

export type Periodicity = {
  spikes: number;
  medianIntervalMin: number | null;
  expectedMin: number;
  status: Status;
  note: string;
  /** how sure the finding is: spikes found against the periods the samples span, and gaps on schedule */
  confidence?: "high" | "medium" | "low";
};

/** Periods the samples must span before a period is judged; fewer cannot tell a schedule from chance. */
const MIN_PERIODS = 4;

/**
 * Spark offloads every 15 minutes and its CPU spikes then. A spike starts where CPU rises
 * above median + max(3 MAD, 10% of budget); the median gap between starts should match the
 * schedule within 20%. Judged only when the samples span at least four periods and come at least twice a period
 * (else a spike can fall between samples every time); otherwise NOT CHECKED, saying how many samples it needs.
 */
export function spikePeriodicity(
  series: { ts: number; cpu: number }[],
  budgetCpu: number,
  expectedMin = 15,
): Periodicity {
  const sorted = [...series].sort((a, b) => a.ts - b.ts);
  const notChecked = (note: string): Periodicity => ({
    spikes: 0,
    medianIntervalMin: null,
    expectedMin,
    status: "NOT CHECKED",
    note,
  });
  const period = formatDuration(expectedMin * 60_000);
  if (sorted.length < 2) return notChecked(`${sorted.length} samples: needs samples over ${MIN_PERIODS} periods`);
  const stepMin = quantileExact(
    sorted
      .slice(1)
      .map((x, i) => (x.ts - sorted[i]!.ts) / 60_000)
      .sort((a, b) => a - b),
    0.5,
  );
  const spanMin = (sorted.at(-1)!.ts - sorted[0]!.ts) / 60_000;
  if (stepMin > expectedMin / 2)
    return notChecked(
      `samples every ${formatDuration(stepMin * 60_000)} cannot show a ${period} schedule: sample at least every ` +
        `${formatDuration((expectedMin / 2) * 60_000)}`,
    );
  if (spanMin < MIN_PERIODS * expectedMin) {
    const needed = Math.ceil((MIN_PERIODS * expectedMin) / stepMin) + 1;
    return notChecked(
      `${sorted.length} samples over ${formatDuration(spanMin * 60_000)} hold fewer than ${MIN_PERIODS} periods of ` +
        `${period}: needs ${needed} samples at this interval (${formatDuration(MIN_PERIODS * expectedMin * 60_000)})`,
    );
  }
  const values = sorted.map((s) => s.cpu).sort((a, b) => a - b);
  const med = quantileExact(values, 0.5);
  const mad = quantileExact(
    values.map((v) => Math.abs(v - med)).sort((a, b) => a - b),
    0.5,
  );
  const threshold = med + Math.max(3 * mad, 0.1 * budgetCpu);
  const starts: number[] = [];
  sorted.forEach((s, i) => {
    if (s.cpu > threshold && (i === 0 || sorted[i - 1]!.cpu <= threshold)) starts.push(s.ts);
  });
  const gaps = starts
    .slice(1)
    .map((t, i) => (t - starts[i]!) / 60_000)
    .sort((a, b) => a - b);
  const periods = spanMin / expectedMin;
  if (gaps.length < 2)
    return {
      spikes: starts.length,
      medianIntervalMin: null,
      expectedMin,
      status: "WARN",
      note: `${starts.length} spikes over ${periods.toFixed(1)} periods of ${period}: no schedule in Spark's CPU`,
      confidence: periods >= 2 * MIN_PERIODS ? "high" : "medium",
    };
  const m = quantileExact(gaps, 0.5);
  const ok = Math.abs(m - expectedMin) <= 0.2 * expectedMin;
  const onTime = gaps.filter((g) => Math.abs(g - expectedMin) <= 0.2 * expectedMin).length;
  const found = Math.min(1, starts.length / Math.max(1, Math.floor(periods)));
  const confidence =
    periods >= 2 * MIN_PERIODS && found >= 0.8 && onTime >= 0.8 * gaps.length
      ? "high"
      : found >= 0.5 && onTime >= 0.5 * gaps.length
        ? "medium"
        : "low";
  return {
    spikes: starts.length,
    medianIntervalMin: m,
    expectedMin,
    status: ok ? "PASS" : "WARN",
    confidence,
    note:
      `${starts.length} spikes over ${periods.toFixed(1)} periods, median ${formatDuration(m * 60_000)} apart ` +
      `(schedule every ${period}${ok ? "" : "; off by more than 20%"}); ${onTime} of ${gaps.length} gaps on ` +
      `schedule: ${confidence} confidence`,
  };
}

/** Average cores between consecutive rounds from the cumulative CPU counter: catches spikes a 1 s reading misses. */
export function intervalCpu(
  rows: { ts: string; cpu_total_ns: number | string | null }[],
): { ts: number; cpu: number }[] {
  const s = rows
    .filter((r) => r.cpu_total_ns !== null)
    .map((r) => ({ ts: Date.parse(r.ts), ns: Number(r.cpu_total_ns) }))
    .sort((a, b) => a.ts - b.ts);
  return s.slice(1).map((b, i) => ({ ts: b.ts, cpu: Math.max(0, (b.ns - s[i]!.ns) / ((b.ts - s[i]!.ts) * 1e6)) }));
}
