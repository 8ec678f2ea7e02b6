// Step 1's stored run, typed: what its fetch stores (one record per scenario), the per-scenario
// verdicts every reader shares, and the summary other steps read.

import type { Precondition } from "../health/summary.ts";
import type { Mapping } from "../k2/discovery.ts";
import type { KafkaSettings } from "../k2/kafka.ts";
import { LATENCY_P99_TARGET_MS } from "../k2/thresholds.ts";
import type { Fault } from "../lab/traffic.ts";
import { type Fetched, type RunData, runIdentity } from "../runtime/store.ts";
import type { Criterion, Status, StepSummary, Window } from "../verdict/status.ts";
import { latencyFacts, scenarioSummaries } from "./facts.ts";
import { type LossCheck, SCENARIOS } from "./verdict.ts";

export type LatencyFetched = Fetched & {
  parameters: {
    scenarios: string[];
    duration: string;
    delay?: string;
    flush?: string;
    seed?: number;
    faults?: Fault[];
    coarseSilver?: boolean;
    window?: string;
    loadCmd?: string;
  };
  tuning: string | null;
  health: Precondition;
};

export type ScenarioRecord = {
  scenario: string;
  lab: boolean;
  window: Window;
  durationMs: number;
  targetRate: number;
  achievedRate: number;
  achievedHow: string;
  /** what landed by landing time: live trades of the window and a load's replayed copies (runs from before: none) */
  landed?: { live: number; copies: number; settleMs: number; find: string };
  lagClock: string;
  resolutionMs: number;
  mappings: Mapping[];
  /** the Kafka engine tables' flush settings as the schema states them (runs before they were read have none) */
  kafka?: KafkaSettings[];
  loss: LossCheck;
  notRun?: string;
  mv: { unavailable: string } | { inserts: number; avgMs: number; p99Ms: number; maxMs: number };
  replay?: {
    sent: number;
    generated: number;
    dropped: number;
    silenced: number;
    batches: number;
    insertRttMs: { mean: number; max: number };
    /** messages a load produced into the topics that the lab's consumer inserted (rpk on the lab) */
    copies?: number;
  };
};
export type ScenarioSummary = {
  scenario: string;
  status: Status;
  p50: number | null;
  p99: number | null;
  max: number | null;
  trades: number;
  achieved: string;
  notes: string[];
};

/** "804 ms at 1x against 200 ms (FAIL)": the figure that decides the scenario. */
function scenarioHeadline(summary: ScenarioSummary) {
  const target = LATENCY_P99_TARGET_MS[summary.scenario as keyof typeof LATENCY_P99_TARGET_MS];
  const p99 = summary.p99 === null ? "not measured" : `${Math.round(summary.p99)} ms`;
  return `${p99} at ${summary.scenario}${target === undefined ? "" : ` against ${target} ms`} (${summary.status})`;
}

export async function latencySummary(run: RunData<LatencyFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const s = await scenarioSummaries(run, await run.json<ScenarioRecord[]>("scenarios"));
  const fails = s.some((x) => x.status === "FAIL");
  const allPass = s.length > 0 && s.every((x) => x.status === "PASS");
  return {
    ...runIdentity(m),
    status: fails ? "FAIL" : allPass ? "PASS" : "UNRESOLVED",
    headline: `p99 end to end: ${s.map(scenarioHeadline).join(", ")}`,
    criteria: latencyCriteria(s, m.tuning, (await latencyFacts(run)).bottleneck),
  };
}

/** Step 1's acceptance: each scenario against its p99 target (10x also no loss), a bottleneck named, tuning stated. */
function latencyCriteria(summaries: ScenarioSummary[], tuning: string | null, bottleneckLine: string): Criterion[] {
  const scenario = (sc: (typeof SCENARIOS)[number]): Criterion => {
    const x = summaries.find((y) => y.scenario === sc.name);
    return {
      criterion:
        `${sc.name} (~${sc.rate} msg/s): p99 < ${sc.p99TargetMs} ms` +
        (sc.multiple === 10 ? ", no data loss or MV stall" : ""),
      status: x ? x.status : "NOT RUN",
      evidence: x
        ? `p99 ${x.p99 === null ? "–" : `${Math.round(x.p99)} ms`} over ${x.trades} trades; ${x.achieved}` +
          (x.notes.length ? `; ${x.notes.join("; ")}` : "")
        : "not in this run",
    };
  };
  const none = bottleneckLine.startsWith("none");
  return [
    ...SCENARIOS.map(scenario),
    { criterion: "Bottleneck identified", status: none ? "UNRESOLVED" : "PASS", evidence: bottleneckLine },
    {
      criterion: "Tuning applied (recorded)",
      status: tuning ? "PASS" : "UNRESOLVED",
      evidence: tuning ?? 'none recorded: re-run with --tuning "..." after tuning',
    },
  ];
}
