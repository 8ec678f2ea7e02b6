// SQL for the latency benchmark. The engine computes every lag and quantile over all rows;
// JS only renders. Columns come from discovery (lib/k2/discovery.ts), never from documents.

import { sqlIdent, sqlString, sqlTimeMs } from "../io/clickhouse.ts";
import { exchangeExpr, inWindow, lagClock, type Mapping } from "../k2/discovery.ts";
import { sequenceRunSql, tradeKeySql } from "../k2/stack.ts";
import type { Window } from "../verdict/status.ts";

/** Bucket width for a window: 10 s, widened in 10 s steps so that a series has at most ~300 points. */
export const bucketSeconds = (window: Window) =>
  Math.max(10, Math.ceil((window.toMs - window.fromMs) / 1000 / 300 / 10) * 10);

/** Per-trade lag rows of one table: exchange, symbol, sequence, exchange time, lag in ms by the table's lag clock. */
function lagRowsSql(mapping: Mapping, window: Window): string {
  const ex = sqlIdent(mapping.exchangeTime.column),
    clock = sqlIdent(lagClock(mapping).column);
  const seq = mapping.sequence ? `ifNull(toUInt64(${sqlIdent(mapping.sequence)}), 0)` : "toUInt64(0)";
  return (
    `SELECT ${sqlString(mapping.table)} AS table, ${exchangeExpr(mapping)} AS exchange, ` +
    `toString(${sqlIdent(mapping.symbol)}) AS
    symbol,
      ${seq} AS seq, toDateTime64(${ex}, 3,
        'UTC') AS exchange_ts,
      dateDiff('microsecond', ${ex}, ${clock}) / 1000 AS lag_ms
    FROM ${mapping.table} WHERE ${inWindow(mapping, window)}`
  );
}

// quantileExact: exact over all rows (the engine sorts; at K2's rates a window holds at most
// a few million trades). The same function is in lib/verdict/stats.ts for cross-checks.
const STATS = `count() AS trades, avg(lag_ms) AS avg_ms,
  quantileExact(0.5)(lag_ms) AS p50_ms, quantileExact(0.9)(lag_ms) AS p90_ms,
  quantileExact(0.99)(lag_ms) AS p99_ms, quantileExact(0.999)(lag_ms) AS p999_ms, max(lag_ms) AS max_ms,
  quantileExact(0.001)(lag_ms) AS floor_ms, countIf(lag_ms < 0) / count() AS negative_share`;

/** count, avg, p50, p90, p99, p99.9, max, negative share, lag floor: per table and exchange (and symbol). */
export function statsSql(mappings: Mapping[], window: Window, bySymbol: boolean): string {
  const rows = mappings.map((m) => lagRowsSql(m, window)).join(" UNION ALL ");
  return `SELECT table, exchange, ${bySymbol ? "symbol," : ""} ${STATS} FROM (${rows}) GROUP BY table,
    exchange${bySymbol ? ", symbol" : ""} ORDER BY table, exchange${bySymbol ? ", symbol" : ""}`;
}

/** Per-trade lags of the silver table, with the lab's ground truth when it exists (exported to Parquet). */
export function lagExportSql(silver: Mapping, window: Window, truthDb?: string): string {
  const base = lagRowsSql(silver, window);
  if (!truthDb) return base;
  return `SELECT l.table AS table, l.exchange AS exchange, l.symbol AS symbol, l.seq AS seq, l.exchange_ts AS
    exchange_ts, l.lag_ms AS lag_ms,
      t.delay_ms AS injected_delay_ms, dateDiff('microsecond', t.exchange_ts, t.flushed_ts) / 1000 AS handoff_ms,
      dateDiff('microsecond', t.receive_ts, t.flushed_ts) / 1000 AS consumer_wait_ms, b.rtt_ms AS insert_rtt_ms
    FROM (${base}) AS l
    LEFT JOIN (SELECT toString(exchange) AS exchange, symbol, sequence_number, delay_ms, exchange_ts, receive_ts,
      flushed_ts, batch_id FROM ${truthDb}.sent WHERE status = 'sent') AS t
      ON t.exchange = l.exchange AND t.symbol = l.symbol AND t.sequence_number = l.seq
    LEFT JOIN ${truthDb}.batches AS b ON b.batch_id = t.batch_id`;
}

/**
 * Loss by sequence continuity, per exchange and symbol (per connection where the exchange numbers so: SEQUENCE_SCOPE),
 * in one table over the window: the stack's method (no ground truth there). A gap inside [min, max] of a run's
 * sequence numbers is a lost trade (per connection: a lost message); a trade landed twice is a duplicate.
 */
export function continuitySql(mapping: Mapping, window: Window): string {
  if (!mapping.sequence) throw new Error(`${mapping.table} has no sequence column`);
  return `SELECT exchange, symbol, count() AS rows, uniqExact(seq) AS distinct_seqs, max(seq) - min(seq) + 1 AS span,
      toInt64(span) - toInt64(distinct_seqs) AS missing, toInt64(rows) - toInt64(uniqExact(trade)) AS duplicated
    FROM (SELECT exchange, ${sequenceRunSql("exchange", "sym")} AS symbol, seq,
        ${tradeKeySql("exchange", "seq", "sym", "exchange_ts")} AS trade
      FROM (SELECT exchange, symbol AS sym, seq, exchange_ts FROM (${lagRowsSql(mapping, window)})))
    GROUP BY exchange, symbol ORDER BY exchange, symbol`;
}

/**
 * Loss against the lab's ground truth: every trade the exchanges generated in the window, landed once or not. A copy
 * a load replays later is not counted here: the window is measured before any later load runs.
 */
export function truthLossSql(silver: Mapping, window: Window, truthDb: string): string {
  return `SELECT t.exchange AS exchange, t.symbol AS symbol, count() AS generated, countIf(t.status = 'sent') AS
    delivered,
      countIf(ifNull(s.n, 0) = 0) AS lost, sum(greatest(ifNull(s.n, 0), 1) - 1) AS duplicated,
      countIf(t.status = 'dropped') AS dropped_by_fault, countIf(t.status = 'silenced') AS silenced_by_fault
    FROM (SELECT toString(exchange) AS exchange, symbol, sequence_number, status FROM ${truthDb}.sent
      WHERE exchange_ts >= ${sqlTimeMs(window.fromMs)} AND exchange_ts < ${sqlTimeMs(Math.ceil(window.toMs))}) AS t
    LEFT JOIN (SELECT exchange, symbol, seq, count() AS n FROM (${lagRowsSql(silver, { fromMs: 0, toMs: 8.64e15 })})
      GROUP BY exchange, symbol, seq) AS s
      ON s.exchange = t.exchange AND s.symbol = t.symbol AND s.seq = t.sequence_number
    GROUP BY exchange, symbol ORDER BY exchange, symbol`;
}

/** MV processing from system.query_log (server only): INSERTs touching bronze tables. */
export function queryLogSql(window: Window): string {
  // The brief filters query_kind = 'INSERT'; servers spell it 'Insert': compare case-insensitively.
  return `SELECT count() AS inserts, avg(query_duration_ms) AS avg_ms, quantileExact(0.99)(query_duration_ms) AS
    p99_ms, max(query_duration_ms) AS max_ms
    FROM system.query_log WHERE lower(query_kind) = 'insert' AND type = 'QueryFinish' AND arrayExists(t -> t LIKE
      '%bronze_trades%', tables)
      AND event_time >= toDateTime(intDiv(${Math.floor(window.fromMs)}, 1000)) AND event_time <
        toDateTime(intDiv(${Math.ceil(window.toMs)}, 1000) + 1)`;
}

/** An ECDF as 200 quantile points per exchange (plus the tail), flat in size whatever the rows. */
export function ecdfSql(source: string, where = "1"): string {
  const levels = [...Array.from({ length: 200 }, (_, i) => i / 200), 0.999, 1];
  return `SELECT exchange, arrayJoin(arrayZip([${levels.join(",")}], qs)) AS qv, qv.1 AS q, qv.2 AS lag_ms
    FROM (SELECT exchange, quantilesExact(${levels.join(",")})(lag_ms) AS qs FROM ${source} WHERE ${where} GROUP BY
      exchange) ORDER BY exchange, q`;
}

/** One bucket of seriesSql: p50 and p99 lag per exchange. */
export type SeriesRow = { exchange: string; bucket: string; trades: number; p50_ms: number; p99_ms: number };

/**
 * p50 and p99 per exchange in buckets of exchange time (10 s unless the window needs wider ones to stay a few hundred
 * points).
 */
export function seriesSql(source: string, where = "1", bucketSeconds = 10): string {
  return `SELECT exchange, toStartOfInterval(exchange_ts, INTERVAL ${bucketSeconds} SECOND) AS bucket,
      count() AS trades, quantileExact(0.5)(lag_ms) AS p50_ms, quantileExact(0.99)(lag_ms) AS p99_ms
    FROM ${source} WHERE ${where} GROUP BY exchange, bucket ORDER BY exchange, bucket`;
}

/**
 * What landed while a load ran and within one flush interval after it, by the table's ingestion clock: live trades
 * (exchange time inside the window) and replayed copies (a landing of a trade after its first landing). A stack's load
 * replays recent messages, which keep their exchange time and sequence number: counted by exchange time they would
 * never show, and in a sequence check they would look like duplicates. `lookbackMs` bounds how far back the originals
 * are looked for, so the query reads a bounded slice of the table. Without a sequence column a trade is known by
 * exchange, symbol and exchange time.
 */
export function landedSql(mapping: Mapping, window: Window, settleMs: number, lookbackMs: number): string {
  const ex = sqlIdent(mapping.exchangeTime.column),
    clock = sqlIdent(lagClock(mapping).column);
  const from = sqlTimeMs(window.fromMs);
  const landedIn = (c: string) => `${c} >= ${from} AND ${c} < ${sqlTimeMs(window.toMs + settleMs)}`;
  const id = mapping.sequence ? `ifNull(toUInt64(${sqlIdent(mapping.sequence)}), 0)` : ex;
  return (
    `SELECT sumIf(in_l, ex >= ${from}) AS live, sumIf(in_l - first_in_l, ex < ${from}) AS copies
    FROM (SELECT any(${ex}) AS ex, countIf(${landedIn(clock)}) AS in_l, toUInt64(${landedIn(`min(${clock})`)}) AS
        first_in_l
      FROM ${mapping.table} WHERE ${ex} >= ${sqlTimeMs(window.fromMs - lookbackMs)} AND ${ex} < ` +
    `${sqlTimeMs(window.toMs)}
      GROUP BY ${exchangeExpr(mapping)}, ${sqlIdent(mapping.symbol)}, ${id})`
  );
}

/**
 * Each exchange's distinct trades in silver by exchange time over a span: the mix a load replays, as the stack carries
 * it (an earlier load's copies are the same trade again, so they do not count twice).
 */
export function exchangeCountsSql(mapping: Mapping, window: Window): string {
  const key = [mapping.symbol, mapping.exchangeTime.column, ...(mapping.sequence ? [mapping.sequence] : [])];
  return `SELECT ${exchangeExpr(mapping)} AS exchange, uniqExact(${key.map(sqlIdent).join(", ")}) AS n
    FROM ${mapping.table} WHERE ${inWindow(mapping, window)} GROUP BY exchange`;
}

/** The rows a load's copies added, for a reader to find them: landed during the load, exchange time before it. */
export function copiesFindSql(mapping: Mapping, window: Window, settleMs: number): string {
  const ex = mapping.exchangeTime.column,
    clock = lagClock(mapping).column;
  const iso = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
  return (
    `SELECT * FROM ${mapping.table} WHERE ${clock} >= '${iso(window.fromMs)}' AND ${clock} < ` +
    `'${iso(window.toMs + settleMs)}' ` +
    `AND ${ex} < '${iso(window.fromMs)}'`
  );
}
