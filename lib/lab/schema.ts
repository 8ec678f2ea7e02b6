// The K2 lab schema: the real table names, columns and types from FACTS.md, built in the
// embedded engine. The Kafka engine tables become Null tables of the same single
// `message String` column (no broker here; the replayer's consumer flushes by K2's Kafka
// settings, stated in their DDL); everything downstream is the real shape, pitfalls
// included: bronze stamps ingestion_timestamp with now() at ONE-SECOND resolution, silver
// copies it (so it stays second-granular) and calls the exchange time `timestamp`.

import { isLab, sqlString, type Target } from "../io/clickhouse.ts";
import { bronzeViewOf, KAFKA_ENGINE, kafkaTableOf } from "../k2/stack.ts";
import { K2Error } from "../runtime/errors.ts";
import { EXCHANGES, type Exchange } from "./instruments.ts";

export const TIMEFRAMES = [
  ["1m", "1 MINUTE"],
  ["5m", "5 MINUTE"],
  ["15m", "15 MINUTE"],
  ["30m", "30 MINUTE"],
  ["1h", "1 HOUR"],
  ["1d", "1 DAY"],
] as const;

// Venue symbol -> canonical symbol, done in SQL as the real MVs do:
// BTCUSDT -> BTC/USDT, XBT/USD -> BTC/USD, XDG/USD -> DOGE/USD, BTC-USD -> BTC/USD
const CANONICAL: Record<Exchange, string> = {
  binance: "concat(substring(symbol, 1, length(symbol) - 4), '/USDT')",
  kraken: "replaceRegexpOne(replaceRegexpOne(symbol, '^XBT/', 'BTC/'), '^XDG/', 'DOGE/')",
  coinbase: "replaceAll(symbol, '-', '/')",
};

export type LabSchemaOptions = {
  /**
   * false: silver without processed_at, so its only ingestion clock is second-granular (as on stacks that never added
   * one)
   */
  silverFineClock?: boolean;
  /** the Kafka engine stand-ins' flush rule (K2's by default), stated in their DDL as K2 states it in SETTINGS */
  kafka?: { flushIntervalMs: number; maxBlockSize: number };
};

/** The lab's ground truth: what it sent, dropped and batched, and the offload's cold copy; one name for all readers. */
export const LAB_TRUTH_DB = "k2lab";

export function labSchema(db = "k2", truthDb = LAB_TRUTH_DB, options: LabSchemaOptions = {}): string[] {
  const stmts = [db, truthDb].map((d) => `CREATE DATABASE IF NOT EXISTS ${d} COMMENT ${sqlString(LAB_MARK)}`);
  const k = options.kafka ?? KAFKA_ENGINE;
  // A Null table takes no Kafka SETTINGS: the comment carries them in the same words, for discovery to read.
  const kafka = `kafka_flush_interval_ms = ${k.flushIntervalMs}, kafka_max_block_size = ${k.maxBlockSize}`;
  for (const ex of EXCHANGES) {
    stmts.push(
      `CREATE TABLE ${db}.${kafkaTableOf(ex)} (message String) ENGINE = Null ` +
        `COMMENT ${sqlString(`Kafka engine stand-in (the lab's consumer flushes by this rule): ${kafka}`)}`,
      `CREATE TABLE ${db}.bronze_trades_${ex} (
        exchange_timestamp DateTime64(3), sequence_number UInt64, symbol String,
        price Decimal(18, 8), quantity Decimal(18, 8), quote_volume Decimal(18, 8),
        event_time DateTime64(3), kafka_offset UInt64, kafka_partition UInt16,
        ingestion_timestamp DateTime DEFAULT now()
      ) ENGINE = MergeTree ORDER BY (symbol, exchange_timestamp, sequence_number)`,
      `CREATE MATERIALIZED VIEW ${db}.${bronzeViewOf(ex)} TO ${db}.bronze_trades_${ex} AS SELECT
        fromUnixTimestamp64Milli(JSONExtractInt(message, 'exchange_timestamp')) AS exchange_timestamp,
        JSONExtractUInt(message, 'sequence_number') AS sequence_number,
        JSONExtractString(message, 'symbol') AS symbol,
        toDecimal64(JSONExtractString(message, 'price'), 8) AS price,
        toDecimal64(JSONExtractString(message, 'quantity'), 8) AS quantity,
        toDecimal64(JSONExtractString(message, 'quote_volume'), 8) AS quote_volume,
        fromUnixTimestamp64Milli(JSONExtractInt(message, 'event_time')) AS event_time,
        JSONExtractUInt(message, 'kafka_offset') AS kafka_offset,
        toUInt16(JSONExtractUInt(message, 'kafka_partition')) AS kafka_partition
      FROM ${db}.${kafkaTableOf(ex)}`,
    );
  }
  stmts.push(`CREATE TABLE ${db}.silver_trades (
    message_id UUID, trade_id String, exchange LowCardinality(String), symbol String, canonical_symbol String,
    asset_class Enum8('crypto' = 1, 'equity' = 2, 'fx' = 3), currency String,
    price Decimal128(8), quantity Decimal128(8), quote_volume Decimal128(8),
    side Enum8('BUY' = 1, 'SELL' = 2, 'SELL_SHORT' = 3, 'UNKNOWN' = 4),
    timestamp DateTime64(6, 'UTC'), ingestion_timestamp DateTime64(6, 'UTC'),
    ${
      options.silverFineClock === false ? "" : "processed_at DateTime64(6) DEFAULT " + "now64(6),"
    } source_sequence Nullable(UInt64),
    vendor_data Map(String, String), is_valid Bool
  ) ENGINE = MergeTree PARTITION BY (exchange, asset_class, toDate(timestamp))
    ORDER BY (exchange, canonical_symbol, timestamp) TTL toDateTime(timestamp) + INTERVAL 30 DAY`);
  for (const ex of EXCHANGES) {
    stmts.push(`CREATE MATERIALIZED VIEW ${db}.bronze_${ex}_to_silver_mv TO ${db}.silver_trades AS SELECT
      generateUUIDv4() AS message_id, toString(sequence_number) AS trade_id, '${ex}' AS exchange, symbol,
      ${CANONICAL[ex]} AS canonical_symbol, 'crypto' AS asset_class,
      splitByChar('/', ${CANONICAL[ex]})[2] AS currency,
      toDecimal128(price, 8) AS price, toDecimal128(quantity, 8) AS quantity, toDecimal128(quote_volume, 8) AS
        quote_volume,
      'UNKNOWN' AS side, toDateTime64(exchange_timestamp, 6, 'UTC') AS timestamp,
      toDateTime64(ingestion_timestamp, 6, 'UTC') AS ingestion_timestamp, sequence_number AS source_sequence,
      map('kafka_offset', toString(kafka_offset), 'kafka_partition', toString(kafka_partition)) AS vendor_data,
      price > 0 AND quantity > 0 AS is_valid
    FROM ${db}.bronze_trades_${ex}`);
  }
  for (const [tf, interval] of TIMEFRAMES) {
    stmts.push(
      `CREATE TABLE ${db}.ohlcv_${tf} (
        exchange LowCardinality(String), canonical_symbol String, window_start DateTime64(3),
        open_time DateTime64(6), close_time DateTime64(6), open_price Decimal128(8), close_price Decimal128(8),
        high Decimal128(8), low Decimal128(8), volume Decimal128(8), quote_volume Decimal128(8), trade_count UInt64
      ) ENGINE = SummingMergeTree((volume, quote_volume, trade_count)) ORDER BY (exchange, canonical_symbol,
        window_start)`,
      `CREATE MATERIALIZED VIEW ${db}.ohlcv_${tf}_mv TO ${db}.ohlcv_${tf} AS SELECT
        exchange, canonical_symbol, toDateTime64(toStartOfInterval(timestamp, INTERVAL ${interval}), 3) AS window_start,
        min(timestamp) AS open_time, max(timestamp) AS close_time,
        argMin(price, timestamp) AS open_price, argMax(price, timestamp) AS close_price,
        max(price) AS high, min(price) AS low, sum(quantity) AS volume, sum(quote_volume) AS quote_volume, count() AS
          trade_count
      FROM ${db}.silver_trades WHERE is_valid GROUP BY exchange, canonical_symbol, window_start`,
    );
  }
  // Ground truth: what the replayer generated, what it delivered, and each insert it made.
  stmts.push(
    `CREATE TABLE ${truthDb}.sent (
      exchange LowCardinality(String), symbol String, sequence_number UInt64,
      exchange_ts DateTime64(3, 'UTC'), delay_ms Float64, receive_ts DateTime64(6, 'UTC'), flushed_ts
        Nullable(DateTime64(6, 'UTC')),
      batch_id UInt32, status Enum8('sent' = 1, 'dropped' = 2, 'silenced' = 3, 'handler_down' = 4)
    ) ENGINE = MergeTree ORDER BY (exchange, symbol, sequence_number)`,
    `CREATE TABLE ${truthDb}.batches (
      batch_id UInt32, exchange LowCardinality(String), rows UInt32, started DateTime64(6, 'UTC'), rtt_ms Float64
    ) ENGINE = MergeTree ORDER BY batch_id`,
  );
  return stmts;
}

/** The comment on every database the lab creates: the mark of what it owns, and so may drop. */
export const LAB_MARK = "k2-lab: created by the K2 lab, which may drop and rebuild it";

/**
 * Drop and rebuild the lab databases, only on the lab's own engine folder and only databases the lab marked: anything
 * else is a user's (a copy of production kept for analysis) and is refused with one line, never dropped.
 */
export async function resetLab(db: Target, database = "k2", truthDb = LAB_TRUTH_DB, options: LabSchemaOptions = {}) {
  if (!isLab(db.spec))
    throw new K2Error(
      `refusing to reset ${db.label}: the lab owns only its own engine folder (data/lab-engine); any other target is ` +
        "measured in place, never rebuilt",
    );
  const found = await db.query<{ name: string; comment: string }>(
    `SELECT name, comment FROM system.databases WHERE name IN (${sqlString(database)}, ${sqlString(truthDb)})`,
  );
  for (const d of found)
    if (d.comment !== LAB_MARK)
      throw new K2Error(
        `refusing to reset database ${d.name} in ${db.label}: the lab did not create it (no lab mark in its ` +
          "comment); move it out of the lab's folder, or set CLICKHOUSE_DATABASE to another name",
      );
  await db.command(`DROP DATABASE IF EXISTS ${database} SYNC`);
  await db.command(`DROP DATABASE IF EXISTS ${truthDb} SYNC`);
  for (const sql of labSchema(database, truthDb, options)) await db.command(sql);
}
