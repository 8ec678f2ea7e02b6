// The pass checks of a failure-mode test, computed by the engine over the test's window.
// Columns come from discovery (silver's exchange, symbol, sequence, exchange time and finest
// ingestion clock), so the same checks run on the lab and on a stack. Every trade in the
// window is classified Jepsen-style as landed, lost, duplicated or late: against the
// replayer's ground truth on the lab, by sequence continuity per symbol on a stack.
import { sqlIdent, sqlTimeMs } from "../io/clickhouse.ts";
import type { FlowRun } from "../io/prefect.ts";
import type { WatermarkReading } from "../io/watermarks.ts";
import { exchangeExpr, inWindow, lagClock, type Mapping } from "../k2/discovery.ts";
import { sequenceRunSql, tradeKeySql } from "../k2/stack.ts";
import type { Window } from "../verdict/status.ts";
import type { Check } from "./verdict.ts";

const cols = (mapping: Mapping) => ({
  ex: exchangeExpr(mapping),
  sym: `toString(${sqlIdent(mapping.symbol)})`,
  xt: sqlIdent(mapping.exchangeTime.column),
  clock: sqlIdent(lagClock(mapping).column),
  seq: mapping.sequence ? `ifNull(toUInt64(${sqlIdent(mapping.sequence)}), 0)` : null,
});

/**
 * Trades landed per exchange in [fromMs, toMs) by the ingestion clock. The bound on exchange
 * time (in the sorting key) keeps a once-a-second query from scanning a 30-day table.
 */
export function flowSql(mapping: Mapping, fromMs: number, toMs: number, lookbackMs: number): string {
  const c = cols(mapping);
  return `SELECT ${c.ex} AS exchange, count() AS n FROM ${mapping.table}
    WHERE ${c.clock} >= ${sqlTimeMs(fromMs)} AND ${c.clock} < ${sqlTimeMs(toMs)} AND ${c.xt} >=
      ${sqlTimeMs(fromMs - lookbackMs)} GROUP BY exchange`;
}

/**
 * Trades per exchange whose exchange time lies in [fromMs, toMs), landed by now: what an exchange sent in a window,
 * free of when the consumer happened to flush it (a busy machine delays a flush, then lands two at once).
 */
export function tradedSql(mapping: Mapping, fromMs: number, toMs: number): string {
  const c = cols(mapping);
  return `SELECT ${c.ex} AS exchange, count() AS n FROM ${mapping.table}
    WHERE ${c.xt} >= ${sqlTimeMs(fromMs)} AND ${c.xt} < ${sqlTimeMs(toMs)} GROUP BY exchange`;
}

/** Per exchange and symbol; `lost_in_fault` is the part of `lost` that the fault itself explains. */
export type LossRow = {
  exchange: string;
  symbol: string;
  landed: number;
  lost: number;
  duplicated: number;
  late: number;
  lost_in_fault: number;
};
/**
 * The fault's window in ms since the epoch: its start, when it cleared, and when recovery was seen (the clearing when
 * it was not).
 */
export type FaultTimes = { startMs: number; clearMs: number; endMs: number };

/**
 * Lab: every trade the exchanges generated in the window against what landed in silver (late: generated before the
 * fault cleared, landed after recovery).
 */
export function truthLossSql(mapping: Mapping, window: Window, times: FaultTimes, truthDb: string): string {
  const c = cols(mapping);
  return `SELECT exchange, symbol, countIf(n = 1 AND NOT is_late) AS landed, countIf(n = 0) AS lost, countIf(n > 1) AS
    duplicated,
      countIf(n = 1 AND is_late) AS late, countIf(n = 0 AND status = 'handler_down') AS lost_in_fault
    FROM (SELECT t.exchange AS exchange, t.symbol AS symbol, toString(t.status) AS status, ifNull(s.n, 0) AS n,
      t.exchange_ts < ${sqlTimeMs(times.clearMs)} AND ifNull(s.landed_late, false) AS is_late
          FROM (SELECT toString(exchange) AS exchange, symbol, sequence_number, status, exchange_ts FROM ${truthDb}.sent
                WHERE exchange_ts >= ${sqlTimeMs(window.fromMs)} AND exchange_ts < ${sqlTimeMs(window.toMs)}) AS t
          LEFT JOIN (SELECT ${c.ex} AS exchange, ${c.sym} AS symbol, ${c.seq ?? "toUInt64(0)"} AS seq, count() AS n,
            max(${c.clock}) > ${sqlTimeMs(times.endMs)} AS landed_late
                     FROM ${mapping.table} WHERE ${inWindow(mapping, window)} GROUP BY exchange, symbol, seq) AS s
            ON s.exchange = t.exchange AND s.symbol = t.symbol AND s.seq = t.sequence_number)
    GROUP BY exchange, symbol ORDER BY exchange, symbol`;
}

/**
 * Stack (no ground truth): per symbol, a sequence number missing between two landed ones is
 * lost, and explained by the fault when the trades either side of the gap straddle any of
 * the fault's window; a repeated number is a duplicate. A gap at a symbol's first or last
 * trade in the window is not seen, so continuity can only undercount.
 */
export function continuityLossSql(mapping: Mapping, window: Window, times: FaultTimes): string {
  const c = cols(mapping);
  if (!c.seq) throw new Error(`${mapping.table} has no sequence column`);
  const late = `countIf(xt < ${sqlTimeMs(times.clearMs)} AND clock > ${sqlTimeMs(times.endMs)})`;
  // per symbol, or per connection where the exchange numbers so (SEQUENCE_SCOPE): a message's trades share a number
  return (
    `SELECT exchange, symbol, toInt64(uniqExact(trade)) - toInt64(${late}) AS landed, sum(gap) AS lost,
    toInt64(count()) - toInt64(uniqExact(trade)) AS duplicated,
      ${late} AS late, sumIf(gap, prev_xt <= ${sqlTimeMs(times.endMs)} AND xt >= ${sqlTimeMs(times.startMs)}) ` +
    `AS lost_in_fault
    FROM (SELECT exchange, symbol, seq, trade, xt, clock, lagInFrame(xt) OVER s AS prev_xt,
            if(row_number() OVER s > 1, greatest(toInt64(seq) - toInt64(lagInFrame(seq) OVER s) - 1, 0), 0) AS gap
          FROM (SELECT exchange, ${sequenceRunSql("exchange", "sym")} AS symbol, seq,
              ${tradeKeySql("exchange", "seq", "sym", "xt")} AS trade, xt, clock
            FROM (SELECT ${c.ex} AS exchange, ${c.sym} AS sym, ${c.seq} AS seq, ${c.xt} AS xt, ${c.clock} AS clock
              FROM ${mapping.table} WHERE ${inWindow(mapping, window)}))
          WINDOW s AS (PARTITION BY exchange, symbol ORDER BY seq ROWS BETWEEN 1 PRECEDING AND CURRENT ROW))
    GROUP BY exchange, symbol ORDER BY exchange, symbol`
  );
}

/**
 * The loss checks from classified rows: loss on the faulted exchange only inside the fault, none elsewhere, no
 * duplicates.
 */
export function lossChecks(rows: LossRow[], exchanges: readonly string[], faultExchange: string | undefined) {
  const zero = { landed: 0, lost: 0, duplicated: 0, late: 0, lost_in_fault: 0 };
  const perExchange = Object.fromEntries(
    exchanges.map((e) => [
      e,
      rows
        .filter((r) => r.exchange === e)
        .reduce(
          (a, r) => ({
            landed: a.landed + Number(r.landed),
            lost: a.lost + Number(r.lost),
            duplicated: a.duplicated + Number(r.duplicated),
            late: a.late + Number(r.late),
            lost_in_fault: a.lost_in_fault + Number(r.lost_in_fault),
          }),
          zero,
        ),
    ]),
  );
  const checks: Check[] = [];
  if (faultExchange) {
    const r = perExchange[faultExchange] ?? zero;
    checks.push({
      name: `${faultExchange} loss only while its handler was down`,
      status: r.lost === r.lost_in_fault ? "PASS" : "FAIL",
      detail: `${r.lost} lost, ${r.lost_in_fault} of them while the handler was down`,
    });
  }
  const elsewhere = exchanges.filter((e) => e !== faultExchange && perExchange[e]!.lost > 0);
  checks.push({
    name: faultExchange ? "no loss on the other exchanges" : "no trade lost",
    status: elsewhere.length ? "FAIL" : "PASS",
    detail: elsewhere.map((e) => `${e} ${perExchange[e]!.lost} lost`).join(", ") || "0 lost",
  });
  const dup = exchanges.reduce((a, e) => a + perExchange[e]!.duplicated, 0);
  checks.push({ name: "no duplicates", status: dup ? "FAIL" : "PASS", detail: `${dup} duplicated` });
  const bySymbol = rows
    .filter((r) => Number(r.lost) || Number(r.duplicated) || Number(r.late))
    .map((r) => ({
      exchange: r.exchange,
      symbol: r.symbol,
      lost: Number(r.lost),
      duplicated: Number(r.duplicated),
      late: Number(r.late),
    }));
  return {
    checks,
    perExchange: Object.fromEntries(
      exchanges.map((e) => [
        e,
        {
          landed: perExchange[e]!.landed,
          lost: perExchange[e]!.lost,
          duplicated: perExchange[e]!.duplicated,
          late: perExchange[e]!.late,
        },
      ]),
    ),
    bySymbol,
  };
}

/** The largest gap between consecutive landings per exchange, in seconds, by the ingestion clock. */
export function gapSql(mapping: Mapping, window: Window): string {
  const c = cols(mapping);
  return (
    `SELECT exchange, max(d) / 1e6 AS gap_s FROM (
      SELECT exchange, dateDiff('microsecond', lagInFrame(clock) OVER s, clock) AS d, row_number() OVER s AS rn
      FROM (SELECT ${c.ex} AS exchange, ${c.clock} AS clock FROM ${mapping.table} WHERE ${c.clock} >= ` +
    `${sqlTimeMs(window.fromMs)}
        AND ${c.clock} < ${sqlTimeMs(window.toMs)})
      WINDOW s AS (PARTITION BY exchange ORDER BY clock ROWS BETWEEN 1 PRECEDING AND CURRENT ROW))
    WHERE rn > 1 GROUP BY exchange ORDER BY exchange`
  );
}

/**
 * Silver against the 1-minute OHLCV table over the whole minutes that cover the window (both fed by the same insert).
 */
export function silverGoldSql(mapping: Mapping, database: string, window: Window): string {
  const from = Math.floor(window.fromMs / 60_000) * 60_000,
    to = Math.ceil(window.toMs / 60_000) * 60_000;
  return (
    `SELECT (SELECT count() FROM ${mapping.table} WHERE is_valid AND ` +
    `${inWindow(mapping, { fromMs: from, toMs: to })}) AS
    silver,
      (SELECT sum(trade_count) FROM ${database}.ohlcv_1m WHERE window_start >= ${sqlTimeMs(from)} AND window_start <
        ${sqlTimeMs(to)}) AS gold`
  );
}

const FAILED = ["FAILED", "CRASHED"];
const runStart = (flowRun: FlowRun) => Date.parse(flowRun.start_time ?? flowRun.expected_start_time ?? "");
const runName = (flowRun: FlowRun) => `${flowRun.name} (${flowRun.state_name ?? flowRun.state_type})`;

/**
 * On a stack, Prefect's record of the offload deployment's flow runs (FACTS.md: with Spark down the script never runs,
 * so only Prefect sees the failure): a run begun while the fault held failed, and the next one begun after clearing
 * completed. `faultStart` and `clearedAt` in epoch ms; runs as the API returns them.
 */
export function flowRunChecks(runs: FlowRun[], faultStart: number, clearedAt: number, deployment: string): Check[] {
  const during = runs.filter((r) => runStart(r) >= faultStart && runStart(r) < clearedAt);
  const after = runs.filter((r) => runStart(r) >= clearedAt).sort((a, b) => runStart(a) - runStart(b));
  const failed = during.filter((r) => FAILED.includes(r.state_type));
  const done = after.find((r) => ["COMPLETED", ...FAILED].includes(r.state_type));
  const hint = "start one with --start-offload-runs (it asks first, or --yes), or hold the fault across a run";
  return [
    {
      name: "Prefect: a flow run failed while the fault held",
      status: !during.length ? "NOT CHECKED" : failed.length === during.length ? "PASS" : "FAIL",
      detail: !during.length
        ? `no run of ${deployment} began while the fault held: ${hint}`
        : during.map(runName).join(", "),
    },
    {
      name: "Prefect: the next flow run completed",
      status: !done ? "NOT CHECKED" : done.state_type === "COMPLETED" ? "PASS" : "FAIL",
      detail: done
        ? `${runName(done)}, begun ${((runStart(done) - clearedAt) / 1000).toFixed(1)} s after clearing`
        : `no run of ${deployment} finished after clearing within the observation limit (--limit)`,
    },
  ];
}

/** The name of the first run Prefect recorded as failed while the fault held, for the watermark check. */
export function failedDuring(runs: FlowRun[], faultStart: number, clearedAt: number): string | null {
  const r = runs.find((x) => FAILED.includes(x.state_type) && runStart(x) >= faultStart && runStart(x) < clearedAt);
  return r ? r.name : null;
}

/**
 * On a stack: the watermark held while the fault did (a run was attempted: failures or status moved), and the next run
 * advanced it.
 */
export function watermarkChecks(
  before: WatermarkReading,
  atClear: WatermarkReading,
  after: WatermarkReading | null,
  holdMs: number,
  scheduleMs: number,
  /** a run of the deployment that Prefect recorded as failed while the fault held (a stack's offload writes nothing) */
  failedRun: string | null = null,
): Check[] {
  const attempted =
    failedRun !== null ||
    (atClear.failures ?? 0) > (before.failures ?? 0) ||
    (atClear.status !== before.status && atClear.status !== null);
  const held: Check =
    atClear.ms > before.ms
      ? {
          name: "watermark not advanced while the fault held",
          status: "FAIL",
          detail: `advanced by ${((atClear.ms - before.ms) / 1000).toFixed(1)} s (${before.source})`,
        }
      : attempted
        ? {
            name: "watermark not advanced while the fault held",
            status: "PASS",
            detail:
              (failedRun
                ? `Prefect's flow run ${failedRun} failed and `
                : `a run was attempted (status ${atClear.status ?? "–"}, failures ${atClear.failures ?? "–"}) ` +
                  "and ") + `the watermark stayed (${before.source})`,
          }
        : {
            name: "watermark not advanced while the fault held",
            status: "NOT CHECKED",
            detail:
              `no offload run was due while the fault held (${Math.round(holdMs / 1000)} s; the schedule is ` +
              `every ${Math.round(scheduleMs / 60_000)} min): hold it across a run, e.g. --hold ` +
              `${Math.round(scheduleMs / 60_000) + 1}m`,
          };
  const next: Check =
    after && after.ms > atClear.ms
      ? {
          name: "next offload succeeded",
          status: "PASS",
          detail:
            `watermark advanced by ${((after.ms - atClear.ms) / 1000).toFixed(1)} s after ` +
            `clearing (${after.source})`,
        }
      : {
          name: "next offload succeeded",
          status: "NOT CHECKED",
          detail: "no run advanced the watermark within the observation limit (--limit)",
        };
  return [
    held,
    next,
    {
      name: "offloaded exactly once",
      status: "NOT CHECKED",
      detail:
        "needs the Iceberg table's row counts, which this tool cannot read: compare the next run's rows with silver's",
    },
  ];
}
