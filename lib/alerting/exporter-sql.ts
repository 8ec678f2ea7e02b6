// The pipeline exporter's SQL, over the discovered silver columns. Every query is bounded by the exchange-time column
// that leads silver's partitioning and sort order (K2: PARTITION BY (exchange, asset_class, toDate(timestamp)),
// ORDER BY (exchange, canonical_symbol, timestamp)), so a scrape reads the newest slice however large the table grows
// (bun run bench shows it at 10k, 1M and 10M rows).

import { sqlIdent, sqlTimeMs } from "../io/clickhouse.ts";
import { exchangeExpr, lagClock, type Mapping } from "../k2/discovery.ts";

/**
 * How far back in exchange time a scrape looks for the newest trade: first the last 10 minutes (a flowing exchange has
 * one there, and that slice is small at any table size), then, for an exchange with none, six hours.
 */
export const NEWEST_RECENT_MS = 10 * 60_000;
export const NEWEST_LOOKBACK_MS = 6 * 3_600_000;
/** The delay metrics cover what landed in the last minute. */
export const DELAY_WINDOW_MS = 60_000;
/** A trade that lands later than this after its exchange time is not counted as landed by the exporter. */
const LANDING_SLACK_MS = 3_600_000;

const cols = (mapping: Mapping) => ({
  ex: sqlIdent(mapping.exchangeTime.column),
  clock: sqlIdent(lagClock(mapping).column),
});
// seconds since the epoch of a DateTime or DateTime64 column, with its fraction
const seconds = (c: string) => `toFloat64(toUnixTimestamp64Micro(toDateTime64(${c}, 6))) / 1e6`;

/** Per exchange: the newest trade's landing time (seconds), within `lookbackMs` of exchange time. */
export function newestSql(mapping: Mapping, nowMs: number, lookbackMs: number): string {
  const { ex, clock } = cols(mapping);
  return `SELECT ${exchangeExpr(mapping)} AS exchange, ${seconds(`max(${clock})`)} AS newest_s FROM ${mapping.table}
    WHERE ${ex} >= ${sqlTimeMs(nowMs - lookbackMs)} GROUP BY exchange`;
}

/** Per exchange: trades that landed in (fromMs, toMs], for the landed counter. */
export function landedSql(mapping: Mapping, fromMs: number, toMs: number): string {
  const { ex, clock } = cols(mapping);
  return `SELECT ${exchangeExpr(mapping)} AS exchange, count() AS n FROM ${mapping.table}
    WHERE ${ex} >= ${sqlTimeMs(fromMs - LANDING_SLACK_MS)} AND ${clock} > ${sqlTimeMs(fromMs)}
      AND ${clock} <= ${sqlTimeMs(toMs)} GROUP BY exchange`;
}

/**
 * Per exchange: ingestion minus exchange time over what landed in the last minute (a time-compressed live fire
 * shortens the window with its rules), average and p99, in seconds.
 */
export function delaySql(mapping: Mapping, nowMs: number, windowMs = DELAY_WINDOW_MS): string {
  const { ex, clock } = cols(mapping);
  const lag = `dateDiff('microsecond', ${ex}, ${clock}) / 1e6`;
  return (
    `SELECT ${exchangeExpr(mapping)} AS exchange, avg(${lag}) AS avg_s, quantile(0.99)(${lag}) AS p99_s ` +
    `FROM ${mapping.table}
    WHERE ${ex} >= ${sqlTimeMs(nowMs - windowMs - LANDING_SLACK_MS)}
      AND ${clock} > ${sqlTimeMs(nowMs - windowMs)}
    GROUP BY exchange`
  );
}

/** The Kafka engine consumers (ClickHouse 23.8+): messages read, last poll, exceptions, per table. */
export const KAFKA_CONSUMERS_SQL = `SELECT database || '.' || table AS table, sum(num_messages_read) AS messages,
  max(toFloat64(last_poll_time)) AS last_poll_s, sum(length(exceptions.time)) AS exceptions
  FROM system.kafka_consumers GROUP BY table`;

/** Profile events behind the insert-failure metrics, since the server started. */
export const INSERT_EVENTS_SQL = `SELECT event, value FROM system.events
  WHERE event IN ('FailedInsertQuery', 'InsertQuery', 'KafkaMessagesFailed')`;
