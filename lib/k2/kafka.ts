// The Kafka engine's flush rule, read from the schema on any target, and the latency floor it sets. A Kafka engine
// table hands rows to its MVs when a block is full (kafka_max_block_size) or when the flush interval ends
// (kafka_flush_interval_ms); below max_block_size rows per interval every trade waits for the interval, so no tuning
// downstream can bring p99 below it.
import { type Db, sqlString } from "../io/clickhouse.ts";
import { CLICKHOUSE_STREAM_FLUSH_MS } from "./stack.ts";

export type KafkaSettings = {
  table: string;
  flushIntervalMs: number;
  maxBlockSize: number | null; // null: not set, the engine's default (max_insert_block_size, about a million rows)
  /** where the flush interval came from: the table's SETTINGS, or the server default when the table sets none */
  source: "schema" | "default";
};

/**
 * The settings in a CREATE TABLE statement, e.g.
 *   ... ENGINE = Kafka SETTINGS kafka_broker_list = 'redpanda:9092', kafka_flush_interval_ms = 7500,
 *       kafka_max_block_size = 10000
 * Values may be quoted ('7500') as some dumps write them. null when the statement names neither setting and is no Kafka
 * table.
 */
export function parseKafkaSettings(table: string, createQuery: string): KafkaSettings | null {
  const num = (name: string) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*'?(\\d+)'?`).exec(createQuery);
    return m ? Number(m[1]) : null;
  };
  const flush = num("kafka_flush_interval_ms"),
    block = num("kafka_max_block_size");
  if (flush === null && block === null && !/ENGINE\s*=\s*Kafka\b/i.test(createQuery)) return null;
  return {
    table,
    flushIntervalMs: flush ?? CLICKHOUSE_STREAM_FLUSH_MS,
    maxBlockSize: block,
    source: flush === null ? "default" : "schema",
  };
}

/** Every Kafka engine table of a database (and the lab's stand-ins, which state the same settings in their DDL). */
export async function discoverKafkaSettings(db: Db, database: string): Promise<KafkaSettings[]> {
  const rows = await db.query<{ name: string; create_table_query: string }>(
    `SELECT name, create_table_query FROM system.tables WHERE database = ${sqlString(database)} ` +
      "AND (engine = 'Kafka' " +
      `OR create_table_query LIKE '%kafka\\_flush\\_interval\\_ms%') ORDER BY name`,
  );
  return rows.flatMap((r) => parseKafkaSettings(`${database}.${r.name}`, r.create_table_query) ?? []);
}

export type FlushFloor = {
  /** what each trade waits between reaching the topic and reaching the MVs, on average and at p99 */
  meanWaitMs: number;
  p99WaitMs: number;
  /** "interval" when blocks never fill at this rate (every trade waits for the timer), else "block" */
  rule: "interval" | "block";
};

/**
 * The wait a trade arriving at `ratePerSec` on one Kafka table sees. Below maxBlockSize rows per interval, arrivals are
 * spread evenly over the interval, so the wait is uniform on [0, interval]: mean interval/2, p99 0.99·interval.
 * Above, a block fills in maxBlockSize/rate and that is the bound instead.
 */
export function flushFloor(s: Pick<KafkaSettings, "flushIntervalMs" | "maxBlockSize">, ratePerSec: number): FlushFloor {
  const fillMs = s.maxBlockSize && ratePerSec > 0 ? (s.maxBlockSize / ratePerSec) * 1000 : Infinity;
  const periodMs = Math.min(s.flushIntervalMs, fillMs);
  return {
    meanWaitMs: periodMs / 2,
    p99WaitMs: 0.99 * periodMs,
    rule: fillMs < s.flushIntervalMs ? "block" : "interval",
  };
}
