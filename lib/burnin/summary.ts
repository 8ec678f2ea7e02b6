// Step 2's stored run, typed: what its fetch stores, and the analysis every reader of a burn-in
// run shares (the report, and the steps after it through burnInSummary).

import { SERVICES, STACK_BUDGET } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { type Fetched, type RunData, runIdentity } from "../runtime/store.ts";
import { formatDuration } from "../runtime/units.ts";
import type { Criterion, StepSummary } from "../verdict/status.ts";
import {
  analyseService,
  DEFAULT_RULES,
  intervalCpu,
  type ServiceResult,
  spikePeriodicity,
  stackTotals,
  type Tidy,
} from "./verdict.ts";

type BurnInParameters = {
  duration: string;
  interval: string;
  expectedRounds: number | null;
  prefix: string;
  lab: boolean;
  offloadPeriodMs: number;
  status: string;
  /** set when the run was imported from a file */
  source?: string;
};
export type BurnInFetched = Fetched & { parameters: BurnInParameters; noEngine?: string };

/** One row of samples.csv as the engine reads it back. */
export type SampleRow = {
  round: number;
  ts: string;
  container: string;
  state: string;
  restarts: number | null;
  oom_killed: boolean | string | null;
  cpu_cores: number | null;
  cpu_total_ns: number | null;
  mem_bytes: number | null;
};

export type BurnInAnalysis = {
  raw: SampleRow[];
  rows: Tidy[];
  gaps: SampleRow[];
  rounds: number;
  containers: string[];
  results: ServiceResult[];
  totals: ReturnType<typeof stackTotals>;
  period: ReturnType<typeof spikePeriodicity> & { basis: string };
  failed: boolean;
};

const order = (c: string) => {
  const i = SERVICES.findIndex((s) => s.container === c);
  return i < 0 ? 99 : i;
};

const tidy = (sampleRow: SampleRow): Tidy => ({
  round: Number(sampleRow.round),
  ts: Date.parse(sampleRow.ts),
  container: sampleRow.container,
  state: sampleRow.state,
  restarts: sampleRow.restarts === null ? null : Number(sampleRow.restarts),
  oomKilled: sampleRow.oom_killed === true || sampleRow.oom_killed === "true",
  cpuCores: sampleRow.cpu_cores === null ? null : Number(sampleRow.cpu_cores),
  memBytes: sampleRow.mem_bytes === null ? null : Number(sampleRow.mem_bytes),
});

/** Spark's CPU per sample: interval averages from the counters where the sampler kept them, else point readings. */
function sparkCpu(raw: SampleRow[], rows: Tidy[]): { series: { ts: number; cpu: number }[]; basis: string } {
  const counters = intervalCpu(raw.filter((r) => r.container === "k2-spark-iceberg"));
  if (counters.length) return { series: counters, basis: "CPU averaged over each interval" };
  const series = rows
    .filter((r) => r.container === "k2-spark-iceberg" && r.cpuCores !== null)
    .map((r) => ({ ts: r.ts, cpu: r.cpuCores! }));
  return { series, basis: "CPU read once per sample, as docker stats gives it: a spike between samples is missed" };
}

/** Every verdict of a burn-in run: per service, stack totals and Spark's offload periodicity. */
export async function analyseBurnIn(run: RunData<BurnInFetched>): Promise<BurnInAnalysis> {
  const raw = await run.query<SampleRow>(
    `SELECT round, ts, container, state, restarts, oom_killed, cpu_cores, cpu_total_ns, mem_bytes FROM {samples} ` +
      `WHERE container != '*round-end*' ORDER BY round, container`,
  );
  const rows = raw.filter((r) => r.container !== "*").map(tidy);
  const containers = [...new Set(rows.map((r) => r.container))].sort((a, b) => order(a) - order(b));
  const results = containers.map((c) =>
    analyseService(
      rows.filter((r) => r.container === c),
      SERVICES.find((s) => s.container === c),
      c,
      DEFAULT_RULES,
    ),
  );
  const totals = stackTotals(rows, STACK_BUDGET);
  // Spark's offload spikes, from the interval-average CPU (cumulative counters), which catches spikes a 1 s
  // reading misses; an imported file (the brief's loop, docker stats) has only point readings: CPU per sample all the
  // same, one reading each, judged alike (its confidence says how sure).
  const spark = sparkCpu(raw, rows);
  const periodicity = spikePeriodicity(
    spark.series,
    SERVICES.find((s) => s.service === "spark-iceberg")!.budget!.cpu,
    (run.manifest.parameters.offloadPeriodMs || THRESHOLDS.offloadIntervalMs) / 60_000,
  );
  const period = { ...periodicity, basis: spark.basis };
  const failed =
    results.some((r) => r.status === "FAIL") ||
    (totals ? [totals.cpuStatus, totals.memStatusPlan].includes("FAIL") : false);
  return {
    raw,
    rows,
    gaps: raw.filter((r) => r.state === "engine-unreachable"),
    rounds: new Set(raw.map((r) => Number(r.round))).size,
    containers,
    results,
    totals,
    period,
    failed,
  };
}

export async function burnInSummary(run: RunData<BurnInFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const base = runIdentity(m);
  if (m.noEngine) return { ...base, status: "SKIPPED", headline: m.noEngine };
  const a = await analyseBurnIn(run);
  const over = a.results.filter((r) => r.status !== "PASS").map((r) => `${r.container} ${r.status}`);
  return {
    criteria: burnInCriteria(a, m.parameters),
    ...base,
    status: a.failed ? "FAIL" : m.parameters.status === "running" ? "UNRESOLVED" : "PASS",
    headline:
      `${base.measured === "lab" ? "the lab's" : "the stack's"} ${a.containers.length} containers over ${a.rounds} ` +
      "rounds" +
      (a.totals
        ? `: CPU p99 ${a.totals.cpuP99.toFixed(2)} of ${STACK_BUDGET.cpu} cores, RAM max ` +
          `${a.totals.memMaxGb.toFixed(2)} of ${STACK_BUDGET.memGbPlan} GB`
        : "") +
      (over.length ? `; ${over.join(", ")}` : ""),
  };
}

/** Step 2's acceptance (FACTS.md): budgets per service and for the stack, Spark's spikes, no OOM or restart, 24 h. */
function burnInCriteria(analysis: BurnInAnalysis, params: BurnInParameters): Criterion[] {
  const svc = analysis.results.filter((r) => r.budgetCpu !== null);
  const list = (rs: ServiceResult[]) => rs.map((r) => r.container).join(", ");
  const cpuOver = svc.filter((r) => r.overBudget.sustained > 0);
  const memOver = svc.filter((r) => r.budgetMemMb !== null && (r.memMaxMb ?? 0) > r.budgetMemMb);
  const broke = analysis.results.filter((r) => r.restarts > 0 || r.oom);
  const spanMs = analysis.rows.length ? analysis.rows.at(-1)!.ts - analysis.rows[0]!.ts : 0;
  const full = spanMs >= 24 * 3_600_000 * 0.99 && analysis.rounds >= 288;
  const t = analysis.totals;
  return [
    {
      criterion: "24 h burn-in, a sample every 5 min (288 samples)",
      status: full ? "PASS" : params.status === "running" ? "UNRESOLVED" : "FAIL",
      evidence:
        `${analysis.rounds} rounds over ${formatDuration(spanMs)} ` +
        `(${params.lab ? "the lab" : "the stack"}, every ${params.interval})`,
    },
    {
      criterion: "No service over its CPU budget sustained (spikes under 2x accepted)",
      status: cpuOver.length ? "FAIL" : svc.length ? "PASS" : "NOT RUN",
      evidence: cpuOver.length ? `sustained over: ${list(cpuOver)}` : `${svc.length} budgeted services within`,
    },
    {
      criterion: "No service over its RAM budget",
      status: memOver.length ? "FAIL" : svc.length ? "PASS" : "NOT RUN",
      evidence: memOver.length
        ? memOver.map((r) => `${r.container} ${Math.round(r.memMaxMb!)} MB > ${r.budgetMemMb} MB`).join("; ")
        : `max RAM within budget for ${svc.length} services`,
    },
    {
      criterion: "Stack total within budget",
      status: t ? (t.cpuStatus === "FAIL" || t.memStatusPlan === "FAIL" ? "FAIL" : "PASS") : "NOT RUN",
      evidence: t ? `CPU p99 ${t.cpuP99.toFixed(2)} cores, RAM max ${t.memMaxGb.toFixed(2)} GB` : "no totals",
    },
    {
      criterion: "Spark's 15-minute offload spikes within tolerance",
      status: analysis.period.status,
      evidence: analysis.period.note,
    },
    {
      criterion: "No OOM kill and no restart during the window",
      status: broke.length ? "FAIL" : analysis.results.length ? "PASS" : "NOT RUN",
      evidence: broke.length
        ? broke.map((r) => `${r.container}: ${r.restarts} restarts${r.oom ? ", OOM" : ""}`).join("; ")
        : `${analysis.results.length} containers, none restarted or OOM-killed`,
    },
  ];
}
