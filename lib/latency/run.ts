// Running one latency scenario: drive the load (the lab's replayer, or rpk inside k2-redpanda
// on a stack), have the engine compute every trade's lag per table, exchange and symbol from
// the discovered columns and store them, check for loss (ground truth on the lab, sequence
// continuity in bronze on a stack), and read MV time from system.query_log where it exists.
import type { Target } from "../io/clickhouse.ts";
import { discoverWithObservation, lagClock, effectiveResolutionMs, silverOf, type Mapping } from "../k2/discovery.ts";
import type { K2Config } from "../k2/config.ts";
import { runLab } from "../lab/lab.ts";
import { parseDelay } from "../lab/random.ts";
import type { Fault } from "../lab/traffic.ts";
import { statsSql, lagExportSql, truthLossSql, continuitySql, queryLogSql } from "./sql.ts";
import type { Window } from "../verdict/status.ts";
import type { LossCheck, Scenario } from "./verdict.ts";
import type { ScenarioRecord } from "./summary.ts";
import { stackLoad } from "./load.ts";
import { discoverKafkaSettings } from "../k2/kafka.ts";
import { K2Error, EXIT } from "../runtime/errors.ts";
import type { RunWriter } from "../runtime/store.ts";

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

/** The lab: replay the scenario's rate, then measure against the replayer's ground truth. */
export async function labScenario(
  target: Target,
  s: Scenario,
  o: ScenarioOptions,
  run: RunWriter,
): Promise<ScenarioRecord> {
  const summary = await runLab(
    target,
    {
      ratePerSec: s.rate,
      durationMs: o.durationMs,
      seed: o.seed,
      delay: parseDelay(o.delay),
      flushMs: o.flushMs,
      faults: o.faults,
    },
    `${s.name} replay`,
    { silverFineClock: !o.coarseSilver },
  );
  const mappings = await discoverWithObservation(target, target.database, o.config);
  const silver = silverOf(mappings);
  const w: Window = { fromMs: summary.startMs - 1, toMs: summary.lastExchangeTs + 1 };
  await saveMeasurements(target, run, s, mappings, w, "k2lab");
  await run.saveQuery(target, `loss_${s.name}`, truthLossSql(silver, w));
  await run.saveQuery(
    target,
    `inserts_${s.name}`,
    "SELECT exchange, rows, rtt_ms FROM k2lab.batches ORDER BY batch_id",
  );
  const [loss] = await target.query<{ lost: number; duplicated: number }>(
    `SELECT sum(lost) AS lost, sum(duplicated) AS duplicated FROM (${truthLossSql(silver, w)})`,
  );
  return {
    scenario: s.name,
    lab: true,
    window: w,
    durationMs: o.durationMs,
    targetRate: s.rate,
    achievedRate: summary.achievedRate,
    achievedHow: "trades delivered by the replayer / duration",
    lagClock: lagClock(silver).column,
    resolutionMs: effectiveResolutionMs(lagClock(silver)),
    mappings,
    kafka: await discoverKafkaSettings(target, target.database),
    loss: {
      lost: Number(loss!.lost),
      duplicated: Number(loss!.duplicated),
      checkedBy: "against the replayer's ground truth",
    },
    mv: {
      unavailable:
        "the embedded engine has no system.query_log; the insert round trips measured by the replayer stand in (one " +
        "insert runs the raw→bronze→silver→gold MVs)",
    },
    replay: {
      sent: summary.sent,
      generated: summary.generated,
      dropped: summary.dropped,
      silenced: summary.silenced,
      batches: summary.batches,
      insertRttMs: summary.insertRttMs,
    },
  };
}

/**
 * A stack: 1x measures the last window; 5x and 10x replay topic messages with rpk in k2-redpanda and measure the load's
 * window.
 */
export async function stackScenario(
  target: Target,
  s: Scenario,
  o: ScenarioOptions,
  run: RunWriter,
  log: (m: string) => void,
): Promise<ScenarioRecord> {
  const mappings = await discoverWithObservation(target, target.database, o.config);
  const silver = silverOf(mappings);
  const [{ now }] = (await target.query<{ now: number }>("SELECT toUnixTimestamp64Milli(now64(3)) AS now")) as [
    { now: number },
  ];
  let w: Window,
    notRun: string | undefined,
    achievedHow = "trades landed in silver / window";
  if (s.multiple === 1) w = { fromMs: o.since ?? now - o.windowMs, toMs: o.until ?? now };
  else {
    const load = await stackLoad(o.loadCmd, s, o.durationMs, log);
    w = { fromMs: load.startMs, toMs: load.endMs };
    if ("notRun" in load) notRun = load.notRun;
    else achievedHow = `trades landed in silver / load time (rpk in k2-redpanda, exit ${load.exitCode})`;
  }
  if (!notRun) await saveMeasurements(target, run, s, mappings, w);
  const [tot] = notRun
    ? [{ trades: 0 }]
    : await target.query<{ trades: number }>(`SELECT sum(trades) AS trades FROM (${statsSql([silver], w, false)})`);
  let loss: LossCheck = { notChecked: "no sequence column in bronze" };
  const bronze = mappings.filter((x) => x.layer === "bronze" && x.sequence);
  if (!notRun && bronze.length) {
    const continuity = bronze.map((x) => continuitySql(x, w)).join(" UNION ALL ");
    await run.saveQuery(target, `continuity_${s.name}`, continuity);
    const [r] = await target.query<{ missing: number; duplicated: number }>(
      `SELECT sum(missing) AS missing, sum(duplicated) AS duplicated FROM (${continuity})`,
    );
    loss = {
      lost: Number(r!.missing),
      duplicated: Number(r!.duplicated),
      checkedBy: "sequence continuity per symbol in bronze",
    };
  }
  let mv: ScenarioRecord["mv"];
  try {
    const [q] = await target.query<{ inserts: number; avg_ms: number; p99_ms: number; max_ms: number }>(queryLogSql(w));
    mv = { inserts: Number(q!.inserts), avgMs: q!.avg_ms, p99Ms: q!.p99_ms, maxMs: q!.max_ms };
  } catch (e) {
    if (!(e instanceof K2Error) || e.exitCode !== EXIT.notFound) throw e;
    mv = {
      unavailable: "this server has no system.query_log (query_log disabled): MV processing time cannot be measured",
    };
  }
  const seconds = (w.toMs - w.fromMs) / 1000;
  return {
    scenario: s.name,
    lab: false,
    window: w,
    durationMs: w.toMs - w.fromMs,
    targetRate: s.rate,
    achievedRate: Number(tot!.trades) / seconds,
    achievedHow,
    lagClock: lagClock(silver).column,
    resolutionMs: effectiveResolutionMs(lagClock(silver)),
    mappings,
    kafka: await discoverKafkaSettings(target, target.database),
    loss,
    mv,
    notRun,
  };
}

async function saveMeasurements(
  target: Target,
  run: RunWriter,
  s: Scenario,
  mappings: Mapping[],
  w: Window,
  truthDb?: string,
) {
  await run.saveQuery(target, `stats_${s.name}`, statsSql(mappings, w, false));
  await run.saveQuery(target, `stats_symbol_${s.name}`, statsSql(mappings, w, true));
  await run.saveQuery(target, `lags_${s.name}`, lagExportSql(silverOf(mappings), w, truthDb));
}
