// Running one latency scenario, one path for a stack and the lab: 1x measures the last window
// of the traffic that is running (a stack's feed handlers, or the lab's generator), 5x and 10x
// run a load (rpk inside k2-redpanda; on the lab, also its generator) and measure the load's
// window. Then, after one flush interval of the Kafka engine (read from the schema) so that what
// was sent has landed: the engine computes every trade's lag per table, exchange and symbol from
// the discovered columns, counts what landed by landing time (live trades and replayed copies),
// checks loss by sequence continuity in bronze, and reads MV time from system.query_log. The
// lab adds its ground truth beside these: loss against what it generated, the consumer's wait.
import type { Target } from "../io/clickhouse.ts";
import type { K2Config } from "../k2/config.ts";
import { discoverWithObservation, effectiveResolutionMs, lagClock, type Mapping, silverOf } from "../k2/discovery.ts";
import { discoverKafkaSettings } from "../k2/kafka.ts";
import { EXCHANGE_NAMES } from "../k2/stack.ts";
import type { LabTraffic } from "../lab/lab.ts";
import type { LabTopics } from "../lab/topics.ts";
import type { Fault } from "../lab/traffic.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import type { RunWriter } from "../runtime/store.ts";
import type { Window } from "../verdict/status.ts";
import { type Load, replayCount, replaySpanMs, type Shares } from "./load.ts";
import {
  continuitySql,
  copiesFindSql,
  exchangeCountsSql,
  lagExportSql,
  landedSql,
  queryLogSql,
  statsSql,
  truthLossSql,
} from "./sql.ts";
import type { ScenarioRecord } from "./summary.ts";
import { type LossCheck, SCENARIOS, type Scenario } from "./verdict.ts";

export type ScenarioOptions = {
  durationMs: number;
  windowMs: number;
  since?: number;
  until?: number;
  delay: string;
  flushMs: number;
  seed: number;
  faults: Fault[];
  coarseSilver: boolean;
  loadCmd: string;
  config: K2Config;
};

/** What a scenario runs on: the target, the load for 5x and 10x, and on the lab its running traffic. */
/** What the scenarios run on: a target, its load, and on the lab its traffic (and the rig's stop). */
export type Pipeline = { target: Target; load: Load; lab?: LabTraffic; stop?: () => Promise<void> };

/** Past the Kafka engine's flush interval, what a load sent has landed; this much more for the inserts to finish. */
const SETTLE_MARGIN_MS = 1500;

export async function runScenario(
  pipeline: Pipeline,
  sc: Scenario,
  options: ScenarioOptions,
  run: RunWriter,
  log: (m: string) => void,
): Promise<ScenarioRecord> {
  const { target } = pipeline;
  const kafka = await discoverKafkaSettings(target, target.database);
  const settleMs = Math.max(0, ...kafka.map((k) => k.flushIntervalMs)) + SETTLE_MARGIN_MS;
  const copiesBefore = pipeline.lab?.summary().copies ?? 0;
  const { w, notRun } = await scenarioWindow(pipeline, sc, options, settleMs, log);
  // What was sent in the window lands within one flush interval: measure after it.
  const wait = w.toMs + settleMs - Date.now();
  if (!notRun && wait > 0) await Bun.sleep(wait);
  pipeline.lab?.check();
  const mappings = await discoverWithObservation(target, target.database, options.config);
  const silver = silverOf(mappings);
  const truthDb = pipeline.lab?.truthDb;
  if (!notRun) await saveMeasurements(target, run, sc, mappings, w, truthDb);
  const seconds = (w.toMs - w.fromMs) / 1000;
  const landed = notRun ? { live: 0, copies: 0 } : await countLanded(target, silver, w, settleMs, sc, options);
  return {
    scenario: sc.name,
    lab: !!pipeline.lab,
    window: w,
    durationMs: w.toMs - w.fromMs,
    targetRate: sc.rate,
    achievedRate: (landed.live + landed.copies) / seconds,
    achievedHow:
      `landed in silver per second by landing time (${lagClock(silver).column}), through one flush interval ` +
      `after the window; ${sc.multiple === 1 ? "the running traffic" : pipeline.load.how}`,
    landed: { ...landed, settleMs, find: copiesFindSql(silver, w, settleMs) },
    lagClock: lagClock(silver).column,
    resolutionMs: effectiveResolutionMs(lagClock(silver)),
    mappings,
    kafka,
    loss: notRun ? { notChecked: notRun } : await lossCheck(target, run, sc, mappings, w, truthDb),
    mv: await mvTime(target, w, !!pipeline.lab),
    notRun,
    ...(pipeline.lab && !notRun
      ? { replay: await labReplayStats(target, w, pipeline.lab.summary().copies - copiesBefore, pipeline.lab.truthDb) }
      : {}),
  };
}

/** 1x: the last window of the running traffic. 5x and 10x: the load's window. */
async function scenarioWindow(
  pipeline: Pipeline,
  scenario: Scenario,
  options: ScenarioOptions,
  settleMs: number,
  log: (m: string) => void,
): Promise<{ w: Window; notRun?: string }> {
  if (scenario.multiple > 1) {
    // the lab knows its mix; a stack's is measured
    const shares =
      pipeline.lab?.shares ??
      (await exchangeShares(pipeline.target, replaySpanMs(scenario, options.durationMs), options.config));
    if (pipeline.lab?.topics && pipeline.load.copies)
      await topicsHold(pipeline.lab.topics, scenario, options.durationMs, shares, log);
    const load = await pipeline.load.run(scenario, options.durationMs, log, shares);
    return { w: { fromMs: load.startMs, toMs: load.endMs }, notRun: "notRun" in load ? load.notRun : undefined };
  }
  if (pipeline.lab) {
    // the lab's traffic has run since the notebook started it: let it run one more window, then measure that window
    log(`1x: the lab's traffic at ${pipeline.lab.baseRate} msg/s, measuring the last ${options.durationMs / 1000} s`);
    await Bun.sleep(options.durationMs);
    const now = Date.now();
    return { w: { fromMs: now - options.durationMs, toMs: now } };
  }
  const now = await nowMs(pipeline.target);
  // a window ending now would miss what the Kafka engine has not flushed yet: end it one flush interval ago
  const toMs = options.until ?? now - settleMs;
  return { w: { fromMs: options.since ?? toMs - options.windowMs, toMs } };
}

/**
 * rpk replays messages produced before the load, from a span before it: on the lab, let the topics hold them first,
 * as a stack's do (5 s short of the span, for the time the load takes to start).
 */
async function topicsHold(
  topics: LabTopics,
  scenario: Scenario,
  durationMs: number,
  shares: Shares,
  log: (m: string) => void,
) {
  const spanMs = replaySpanMs(scenario, durationMs),
    deadline = Date.now() + spanMs + 60_000;
  const short = () =>
    EXCHANGE_NAMES.filter(
      (e) => topics.held(e, Date.now() - spanMs + 5000) < replayCount(scenario, shares[e], durationMs),
    );
  for (let waiting = short(), said = false; waiting.length; waiting = short()) {
    if (Date.now() > deadline)
      throw new K2Error(
        `lab: the topics of ${waiting.join(", ")} did not fill for the ${scenario.name} load`,
        EXIT.data,
      );
    if (!said) log(`lab: more traffic first, so that the topics hold what rpk replays (${waiting.join(", ")})`);
    said = true;
    await Bun.sleep(250);
  }
}

/**
 * Each exchange's share of silver's trades over the span a load replays from, so that the load multiplies the mix the
 * stack carries (on a stack with one exchange quiet, its topic gets little); an even split when the span holds none.
 */
async function exchangeShares(target: Target, spanMs: number, config: K2Config): Promise<Shares> {
  const silver = silverOf(await discoverWithObservation(target, target.database, config));
  const now = await nowMs(target);
  const rows = await target.query<{ exchange: string; n: number }>(
    exchangeCountsSql(silver, { fromMs: now - spanMs, toMs: now }),
  );
  const n = (e: string) => Number(rows.find((r) => r.exchange === e)?.n ?? 0);
  const total = EXCHANGE_NAMES.reduce((a, e) => a + n(e), 0);
  return Object.fromEntries(EXCHANGE_NAMES.map((e) => [e, total ? n(e) / total : 1 / EXCHANGE_NAMES.length])) as Shares;
}

/** The engine's clock: windows on a stack are the engine's time, not this machine's. */
async function nowMs(target: Target): Promise<number> {
  const [row] = await target.query<{ now: number }>("SELECT toUnixTimestamp64Milli(now64(3)) AS now");
  return Number(row!.now);
}

async function countLanded(
  target: Target,
  silver: Mapping,
  window: Window,
  settleMs: number,
  scenario: Scenario,
  options: ScenarioOptions,
) {
  // a load copies messages from its replay span; a copy of an earlier load's copy has an original from that load's
  // span: look back twice the largest span for the originals
  const lookbackMs =
    2 * Math.max(...SCENARIOS.map((x) => replaySpanMs(x, options.durationMs))) + settleMs + options.durationMs;
  const [r] = await target.query<{ live: number; copies: number }>(landedSql(silver, window, settleMs, lookbackMs));
  return { live: Number(r!.live), copies: Number(r!.copies) };
}

/**
 * The stack's check (sequence continuity in bronze) everywhere; on the lab, ground truth decides and the check is a
 * cross-check.
 */
async function lossCheck(
  target: Target,
  run: RunWriter,
  scenario: Scenario,
  mappings: Mapping[],
  window: Window,
  /** the lab's ground truth; undefined on a stack */
  truthDb: string | undefined,
): Promise<LossCheck> {
  let continuity: LossCheck = { notChecked: "no sequence column in bronze" };
  const bronze = mappings.filter((x) => x.layer === "bronze" && x.sequence);
  if (bronze.length) {
    const sql = bronze.map((x) => continuitySql(x, window)).join(" UNION ALL ");
    await run.saveQuery(target, `continuity_${scenario.name}`, sql);
    const [r] = await target.query<{ missing: number; duplicated: number }>(
      `SELECT sum(missing) AS missing, sum(duplicated) AS duplicated FROM (${sql})`,
    );
    continuity = {
      lost: Number(r!.missing),
      duplicated: Number(r!.duplicated),
      checkedBy: "sequence continuity per symbol in bronze",
    };
  }
  if (!truthDb) return continuity;
  const silver = silverOf(mappings);
  await run.saveQuery(target, `loss_${scenario.name}`, truthLossSql(silver, window, truthDb));
  const [t] = await target.query<{ lost: number; duplicated: number }>(
    `SELECT sum(lost) AS lost, sum(duplicated) AS duplicated FROM (${truthLossSql(silver, window, truthDb)})`,
  );
  const cross =
    "lost" in continuity
      ? `; the stack's check, ${continuity.checkedBy}: ${continuity.lost} missing, ` +
        `${continuity.duplicated} duplicated`
      : "";
  return {
    lost: Number(t!.lost),
    duplicated: Number(t!.duplicated),
    checkedBy: `against the replayer's ground truth${cross}`,
  };
}

/**
 * The brief's query_log query on a stack: the Kafka engine's background consumers insert without a query of their own,
 * so query_log holds no row for them (ClickHouse's issue tracker reports it) and the query finds nothing.
 */
const MV_UNLOGGED =
  "NOT MEASURED: system.query_log holds no INSERT into bronze in the window (the Kafka engine's background " +
  "consumers insert without logging a query); what would measure it: the Kafka record timestamp (_timestamp) kept " +
  "in bronze against silver's processed_at, or system.part_log's NewPart events for the bronze and silver tables";

async function mvTime(target: Target, window: Window, lab: boolean): Promise<ScenarioRecord["mv"]> {
  if (lab)
    return {
      unavailable:
        "the embedded engine has no system.query_log; the insert round trips measured by the replayer stand in (one " +
        "insert runs the raw→bronze→silver→gold MVs)",
    };
  try {
    const [q] = await target.query<{ inserts: number; avg_ms: number; p99_ms: number; max_ms: number }>(
      queryLogSql(window),
    );
    if (!Number(q?.inserts)) return { unavailable: MV_UNLOGGED };
    return { inserts: Number(q!.inserts), avgMs: q!.avg_ms, p99Ms: q!.p99_ms, maxMs: q!.max_ms };
  } catch (e) {
    if (!(e instanceof K2Error) || e.exitCode !== EXIT.notFound) throw e;
    return {
      unavailable: "this server has no system.query_log (query_log disabled): MV processing time cannot be measured",
    };
  }
}

/** The lab's own account of the window, from its ground truth tables. */
async function labReplayStats(
  target: Target,
  window: Window,
  copies: number,
  truthDb: string,
): Promise<NonNullable<ScenarioRecord["replay"]>> {
  const win =
    `exchange_ts >= fromUnixTimestamp64Milli(toInt64(${Math.floor(window.fromMs)})) AND exchange_ts < ` +
    `fromUnixTimestamp64Milli(toInt64(${Math.ceil(window.toMs)}))`;
  const [t] = await target.query<{ generated: number; sent: number; dropped: number; silenced: number }>(
    `SELECT count() AS generated, countIf(status = 'sent') AS sent, countIf(status = 'dropped') AS dropped, ` +
      `countIf(status = 'silenced') AS silenced FROM ${truthDb}.sent WHERE ${win}`,
  );
  const [b] = await target.query<{ batches: number; mean: number; max: number }>(
    `SELECT count() AS batches, avg(rtt_ms) AS mean, max(rtt_ms) AS max FROM ${truthDb}.batches WHERE ` +
      win.replaceAll("exchange_ts", "started"),
  );
  return {
    generated: Number(t!.generated),
    sent: Number(t!.sent),
    dropped: Number(t!.dropped),
    silenced: Number(t!.silenced),
    batches: Number(b!.batches),
    insertRttMs: { mean: Number(b!.mean) || 0, max: Number(b!.max) || 0 },
    copies,
  };
}

async function saveMeasurements(
  target: Target,
  run: RunWriter,
  scenario: Scenario,
  mappings: Mapping[],
  window: Window,
  truthDb?: string,
) {
  await run.saveQuery(target, `stats_${scenario.name}`, statsSql(mappings, window, false));
  await run.saveQuery(target, `stats_symbol_${scenario.name}`, statsSql(mappings, window, true));
  await run.saveQuery(target, `lags_${scenario.name}`, lagExportSql(silverOf(mappings), window, truthDb));
}
