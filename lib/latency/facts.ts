// Step 1's facts from a stored run, computed once and rendered by nobody here: the floor the Kafka engine's flush rule
// sets, each scenario's segments as its stored lags measure them, and the bottleneck line. The report renders them,
// the summary and the sign-off read them.

import type { KafkaSettings } from "../k2/kafka.ts";
import { EXCHANGE_NAMES } from "../k2/stack.ts";
import { SEGMENT_BUDGET_MS } from "../k2/thresholds.ts";
import { fmt } from "../report/document.ts";
import type { RunData } from "../runtime/store.ts";
import type { LatencyFetched, ScenarioRecord, ScenarioSummary } from "./summary.ts";
import {
  bottleneck,
  type FloorRow,
  floorIsBottleneck,
  flushFloors,
  SCENARIOS,
  type Segment,
  scenarioVerdict,
} from "./verdict.ts";

/** Each scenario's lags: count and quantiles by the engine, judged against its target. */
export const lagsOf = (run: RunData, record: ScenarioRecord) =>
  run.manifest.datasets[`lags_${record.scenario}`] ? `{lags_${record.scenario}}` : null;

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

function achievedText(record: ScenarioRecord, rate: number): string {
  const produced = record.replay?.copies !== undefined ? ` (the load produced ${record.replay.copies})` : "";
  const copies = record.landed?.copies ? `, ${record.landed.copies} of them replayed copies${produced}` : "";
  return `${record.achievedRate.toFixed(1)} msg/s achieved (target ~${rate}${copies})`;
}

/** Per scenario, per budget segment (SEGMENTS' key): what its lags measured. */
export type SegmentsByScenario = Map<string, Map<string, Segment>>;

export const SEGMENTS: { key: string; label: string; budgetMs: number | null; needs: string }[] = [
  {
    key: "parse",
    label: "exchange → handler parse",
    budgetMs: SEGMENT_BUDGET_MS.parse,
    needs: "handler timestamps at receive and after parse, in the message",
  },
  {
    key: "produce",
    label: "handler → Redpanda",
    budgetMs: SEGMENT_BUDGET_MS.produce,
    needs: "the handler's publish time against the Kafka record timestamp",
  },
  {
    key: "kafka",
    label: "Redpanda → Kafka engine",
    budgetMs: SEGMENT_BUDGET_MS.kafka,
    needs: "the Kafka record timestamp (_timestamp) kept in bronze",
  },
  {
    key: "mv",
    label: "raw → bronze → silver → gold MVs",
    budgetMs: SEGMENT_BUDGET_MS.mv,
    needs: "system.query_log on a server (the three MV segments, 1 + 3 + 1 ms, run inside one insert)",
  },
  { key: "total", label: "end to end (total)", budgetMs: SEGMENT_BUDGET_MS.total, needs: "" },
  {
    key: "network",
    label: "exchange → handler network",
    budgetMs: null,
    needs: "exchange send time (not in the budget)",
  },
];
const segment = (key: string) => SEGMENTS.find((s) => s.key === key)!;

type SegmentQuantiles = Record<"e50" | "e99" | "w50" | "w99" | "i50" | "i99" | "d50" | "d99", number>;

/** What one scenario's stored lags measure, per segment: end to end always; the lab's parts; a server's MVs. */
async function measureSegments(run: RunData, record: ScenarioRecord): Promise<Map<string, Segment>> {
  const m = new Map<string, Segment>();
  const src = lagsOf(run, record);
  if (!src) return m;
  const q50 = (col: string, as: string) =>
    `quantileExact(0.5)(${col}) AS ${as}50, quantileExact(0.99)(${col}) AS ${as}99`;
  const cols = [
    q50("lag_ms", "e"),
    ...(record.lab ? [q50("consumer_wait_ms", "w"), q50("insert_rtt_ms", "i"), q50("injected_delay_ms", "d")] : []),
  ];
  const [q] = await run.query<SegmentQuantiles>(`SELECT ${cols.join(", ")} FROM ${src}`);
  const put = (key: string, p50Ms: number, p99Ms: number, source: string, label = segment(key).label) =>
    m.set(key, {
      segment: label,
      budgetMs: segment(key).budgetMs,
      p50Ms,
      p99Ms,
      source,
      key,
      scenario: record.scenario,
    });
  put("total", q!.e50, q!.e99, `silver ${record.lagClock} − exchange time, ${record.scenario}`);
  if (record.lab) {
    put(
      "network",
      q!.d50,
      q!.d99,
      "injected delay, the replayer's ground truth; outside the budget",
      "exchange → handler network (lab model)",
    );
    const wait = "consumer wait (handler receive → insert start), measured by the lab";
    put("kafka", q!.w50, q!.w99, `${wait}, ${record.scenario}`);
    put("mv", q!.i50, q!.i99, `insert round trip per trade's batch (one insert runs all MVs), ${record.scenario}`);
  } else if ("p99Ms" in record.mv)
    put(
      "mv",
      record.mv.avgMs,
      record.mv.p99Ms,
      `system.query_log INSERT durations on bronze (avg shown as p50), ${record.scenario}`,
    );
  return m;
}

async function measureAll(run: RunData, records: ScenarioRecord[]): Promise<SegmentsByScenario> {
  const per: SegmentsByScenario = new Map();
  for (const r of records) per.set(r.scenario, await measureSegments(run, r));
  return per;
}

/** Every measured segment but the total (the scenario's own p99), for the bottleneck and the docs. */
const segmentsOf = (per: SegmentsByScenario): Segment[] =>
  [...per.values()].flatMap((m) => [...m.values()].filter((s) => s.segment !== segment("total").label));

/** The Kafka engine tables' flush settings as the run read them (the first scenario that did). */
export const kafkaSettingsOf = (records: ScenarioRecord[]): KafkaSettings[] =>
  records.find((r) => r.kafka?.length)?.kafka ?? [];

/** The wait the flush rule alone puts on the busiest table at each scenario's rate. */
function floorsOf(records: ScenarioRecord[], busiestShare: number): FloorRow[] {
  return flushFloors(
    kafkaSettingsOf(records),
    records.map((r) => SCENARIOS.find((s) => s.name === r.scenario)!),
    busiestShare,
  );
}

/**
 * The busiest exchange's share of the trades, as the run measured them (its first scenario's lags, every table: each
 * trade is in its exchange's bronze table and in silver, so the shares hold); an even split over K2's exchanges when
 * the run measured none.
 */
async function busiestShareOf(run: RunData, records: ScenarioRecord[]): Promise<number> {
  const src = records.map((r) => lagsOf(run, r)).find((x) => x !== null);
  const [row] = src
    ? await run.query<{ share: number | null }>(
        `SELECT max(n) / sum(n) AS share FROM (SELECT exchange, count() AS n FROM ${src} GROUP BY exchange)`,
      )
    : [];
  const share = Number(row?.share);
  return Number.isFinite(share) && share > 0 ? share : 1 / EXCHANGE_NAMES.length;
}

/** The bottleneck line: the flush rule when the measurement agrees with its floor, else the largest segment. */
function bottleneckText(floors: FloorRow[], summaries: ScenarioSummary[], segs: Segment[]): string {
  const agree = summaries.filter((s) =>
    floorIsBottleneck(
      floors.find((f) => f.scenario === s.scenario),
      s.p99,
    ),
  );
  if (agree.length) {
    const f = floors.find((x) => x.scenario === agree[0]!.scenario)!;
    return (
      `Kafka engine flush interval: p99 ${agree.map((s) => `${fmt(s.p99)} ms at ${s.scenario}`).join(", ")}, where ` +
      `the flush rule puts its floor (p99 wait ${Math.round(f.p99WaitMs)} ms at ${f.scenario})`
    );
  }
  const b = bottleneck(segs);
  return b
    ? `${b.segment}: p99 ${fmt(b.p99Ms)} ms against a budget of ${b.budgetMs} ms (${b.source})`
    : "none measurable from what is available";
}

export type LatencyFacts = {
  floors: FloorRow[];
  per: SegmentsByScenario;
  segments: Segment[];
  summaries: ScenarioSummary[];
  bottleneck: string;
  /** the busiest exchange's share of the run's trades: the floor is its table's */
  busiestShare: number;
};

/** The facts of one stored run; a stored run never changes, so the engine works once however many ask. */
export function latencyFacts(run: RunData<LatencyFetched>): Promise<LatencyFacts> {
  let facts = FACTS.get(run.dir);
  if (!facts) FACTS.set(run.dir, (facts = computeFacts(run)));
  return facts;
}
const FACTS = new Map<string, Promise<LatencyFacts>>();

async function computeFacts(run: RunData<LatencyFetched>): Promise<LatencyFacts> {
  const records = await run.json<ScenarioRecord[]>("scenarios");
  const busiestShare = await busiestShareOf(run, records);
  const floors = floorsOf(records, busiestShare);
  const per = await measureAll(run, records);
  const summaries = await scenarioSummaries(run, records);
  const segments = segmentsOf(per);
  const bottleneck = bottleneckText(floors, summaries, segments);
  return { floors, busiestShare, per, segments, summaries, bottleneck };
}
