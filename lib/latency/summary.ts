// Step 1's stored run, typed: what its fetch stores (one record per scenario), the per-scenario
// verdicts every reader shares, and the summary other steps read.
import { runIdentity, type Fetched, type RunData } from "../runtime/store.ts";
import type { Mapping } from "../k2/discovery.ts";
import type { KafkaSettings } from "../k2/kafka.ts";
import type { Fault } from "../lab/traffic.ts";
import type { Criterion, Status, StepSummary, Window } from "../verdict/status.ts";
import type { Precondition } from "../health/summary.ts";
import { SCENARIOS, scenarioVerdict, type LossCheck, type Segment } from "./verdict.ts";
// the report's functions are called, not evaluated, at load: the import cycle with report.ts is harmless
import { floorSection, segmentTable, bottleneckText } from "./report.ts";
import { Report } from "../report/document.ts";

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

export const lagsOf = (run: RunData, r: ScenarioRecord) =>
  run.manifest.datasets[`lags_${r.scenario}`] ? `{lags_${r.scenario}}` : null;

export async function scenarioSummaries(run: RunData, records: ScenarioRecord[]): Promise<ScenarioSummary[]> {
  return Promise.all(
    records.map(async (r) => {
      const s = SCENARIOS.find((x) => x.name === r.scenario)!;
      const src = lagsOf(run, r);
      const [q] = src
        ? await run.query<{ n: number; p50: number; p99: number; max: number }>(
            `SELECT count() AS n, quantileExact(0.5)(lag_ms) AS p50, quantileExact(0.99)(lag_ms) AS p99, max(lag_ms) ` +
              `AS max FROM ${src}`,
          )
        : [];
      const n = Number(q?.n ?? 0);
      const v = scenarioVerdict(s, {
        notRun: r.notRun,
        trades: n,
        p99Ms: n ? q!.p99 : NaN,
        resolutionMs: r.resolutionMs,
        loss: r.loss,
        // runs stored before landing time was counted are judged as they were
        achievedRate: r.landed ? r.achievedRate : undefined,
      });
      return {
        scenario: r.scenario,
        status: v.status,
        p50: n ? q!.p50 : null,
        p99: n ? q!.p99 : null,
        max: n ? q!.max : null,
        trades: n,
        achieved: achievedText(r, s.rate),
        notes: v.notes,
      };
    }),
  );
}

function achievedText(r: ScenarioRecord, rate: number): string {
  const produced = r.replay?.copies !== undefined ? ` (the load produced ${r.replay.copies})` : "";
  const copies = r.landed?.copies ? `, ${r.landed.copies} of them replayed copies${produced}` : "";
  return `${r.achievedRate.toFixed(1)} msg/s achieved (target ~${rate}${copies})`;
}

export async function latencySummary(run: RunData<LatencyFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const s = await scenarioSummaries(run, await run.json<ScenarioRecord[]>("scenarios"));
  const fails = s.some((x) => x.status === "FAIL");
  const allPass = s.length > 0 && s.every((x) => x.status === "PASS");
  return {
    ...runIdentity(m),
    status: fails ? "FAIL" : allPass ? "PASS" : "UNRESOLVED",
    headline: s
      .map((x) => `${x.scenario} p99 ${x.p99 === null ? "–" : `${Math.round(x.p99)} ms`} ${x.status}`)
      .join(", "),
    criteria: latencyCriteria(s, m.tuning, (await latencyFacts(run)).bottleneck),
  };
}

/** Step 1's acceptance: each scenario against its p99 target (10x also no loss), a bottleneck named, tuning stated. */
export function latencyCriteria(s: ScenarioSummary[], tuning: string | null, bottleneckLine: string): Criterion[] {
  const scenario = (sc: (typeof SCENARIOS)[number]): Criterion => {
    const x = s.find((y) => y.scenario === sc.name);
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

/** The report's per-segment latency and bottleneck line, computed as the report computes them (into a scratch one). */
export function latencyFacts(run: RunData<LatencyFetched>): Promise<{ segments: Segment[]; bottleneck: string }> {
  // a stored run never changes: the sign-off asks twice (the criteria, the docs' segments), the engine works once
  let facts = FACTS.get(run.dir);
  if (!facts) FACTS.set(run.dir, (facts = computeFacts(run)));
  return facts;
}
const FACTS = new Map<string, Promise<{ segments: Segment[]; bottleneck: string }>>();

async function computeFacts(run: RunData<LatencyFetched>) {
  const records = await run.json<ScenarioRecord[]>("scenarios");
  const scratch = new Report("");
  const floors = floorSection(scratch, records);
  const segments = await segmentTable(scratch, run, records);
  return { segments, bottleneck: bottleneckText(floors, await scenarioSummaries(run, records), segments) };
}
