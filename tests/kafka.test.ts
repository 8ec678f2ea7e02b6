// The Kafka engine's flush rule: read from the schema on any target (a server's real Kafka tables, the lab's
// stand-ins), and the latency floor it sets, checked with plain numbers.
import { afterAll, describe, expect, test } from "bun:test";
import { connectClickHouse } from "../lib/io/clickhouse.ts";
import { discoverKafkaSettings, flushFloor, parseKafkaSettings } from "../lib/k2/kafka.ts";
import { labSchema } from "../lib/lab/schema.ts";
import { floorIsBottleneck, flushFloors, SCENARIOS } from "../lib/latency/verdict.ts";
import { type ClickHouseServer, startClickHouseServer, testEngine } from "./helpers.ts";

const K2_DDL =
  "CREATE TABLE k2.trades_binance_queue (`message` String) ENGINE = Kafka SETTINGS kafka_broker_list = " +
  "'redpanda:29092', kafka_topic_list = 'market.crypto.trades.binance.raw', kafka_group_name = " +
  "'clickhouse_binance', kafka_format = 'JSONAsString', kafka_max_block_size = 10000, " +
  "kafka_poll_max_batch_size = 10000, kafka_flush_interval_ms = 7500";

describe("parseKafkaSettings", () => {
  test("K2's DDL: 7.5 s, 10000 rows, from the schema", () =>
    expect(parseKafkaSettings("k2.trades_binance_queue", K2_DDL)).toEqual({
      table: "k2.trades_binance_queue",
      flushIntervalMs: 7500,
      maxBlockSize: 10_000,
      source: "schema",
    }));
  test("a Kafka table that sets no interval flushes at the server default; quoted values are read", () => {
    const ddl = "CREATE TABLE x.q (m String) ENGINE = Kafka SETTINGS kafka_max_block_size = '500'";
    expect(parseKafkaSettings("x.q", ddl)).toEqual({
      table: "x.q",
      flushIntervalMs: 7500,
      maxBlockSize: 500,
      source: "default",
    });
  });
  test("any other table is none", () =>
    expect(parseKafkaSettings("x.t", "CREATE TABLE x.t (a UInt8) ENGINE = MergeTree ORDER BY a")).toBeNull());
});

describe("the floor", () => {
  test("below a block per interval every trade waits for the interval", () =>
    expect(flushFloor({ flushIntervalMs: 7500, maxBlockSize: 10_000 }, 25)).toEqual({
      meanWaitMs: 3750,
      p99WaitMs: 7425,
      rule: "interval",
    }));
  test("a block that fills first bounds the wait instead", () =>
    expect(flushFloor({ flushIntervalMs: 7500, maxBlockSize: 1000 }, 500)).toEqual({
      meanWaitMs: 1000,
      p99WaitMs: 1980,
      rule: "block",
    }));
  test("K2's settings make every Phase 7 target unattainable; 100 ms makes them attainable", () => {
    const k2 = flushFloors(
      [{ table: "q", flushIntervalMs: 7500, maxBlockSize: 10_000, source: "schema" }],
      SCENARIOS,
      0.5,
    );
    expect(k2.map((f) => [f.scenario, f.attainable])).toEqual([
      ["1x", false],
      ["5x", false],
      ["10x", false],
    ]);
    const tuned = flushFloors(
      [{ table: "q", flushIntervalMs: 100, maxBlockSize: 10_000, source: "schema" }],
      SCENARIOS,
      0.5,
    );
    expect(tuned.every((f) => f.attainable)).toBe(true);
    expect(flushFloors([], SCENARIOS, 0.5)).toEqual([]);
  });
  test("the floor is the bottleneck only where the measurement agrees with it", () => {
    const [f] = flushFloors(
      [{ table: "q", flushIntervalMs: 7500, maxBlockSize: 10_000, source: "schema" }],
      SCENARIOS,
      0.5,
    );
    expect(floorIsBottleneck(f, 7538)).toBe(true); // the lab at K2's settings
    expect(floorIsBottleneck(f, 1200)).toBe(false); // under the floor: the model does not hold
    const [t] = flushFloors(
      [{ table: "q", flushIntervalMs: 100, maxBlockSize: 10_000, source: "schema" }],
      SCENARIOS,
      0.5,
    );
    expect(floorIsBottleneck(t, 317)).toBe(false); // tuned: the other segments dominate
    expect(floorIsBottleneck(undefined, 317)).toBe(false);
  });
});

describe("discoverKafkaSettings reads the schema", () => {
  let server: ClickHouseServer | undefined;
  afterAll(async () => server?.stop());
  test("the lab's stand-ins state the settings they were built with", async () => {
    const t = await testEngine();
    await t.command("DROP DATABASE IF EXISTS k2_kafka SYNC");
    await t.command("DROP DATABASE IF EXISTS k2_kafka_truth SYNC");
    for (const sql of labSchema("k2_kafka", "k2_kafka_truth", { kafka: { flushIntervalMs: 250, maxBlockSize: 64 } }))
      await t.command(sql);
    const found = await discoverKafkaSettings(t, "k2_kafka");
    // named as a deployed schema names them: Binance's queue bronze_trades_binance_queue, the others trades_<ex>_queue
    expect(found.map((k) => [k.table, k.flushIntervalMs, k.maxBlockSize])).toEqual([
      ["k2_kafka.bronze_trades_binance_queue", 250, 64],
      ["k2_kafka.trades_coinbase_queue", 250, 64],
      ["k2_kafka.trades_kraken_queue", 250, 64],
    ]);
  });
  test("a server's real Kafka engine table (Debian's clickhouse-server; no broker needed to create one)", async () => {
    server = await startClickHouseServer();
    const t = await connectClickHouse({
      kind: "server",
      url: server.url,
      user: "default",
      password: server.password,
      database: "k2",
    });
    await t.command("CREATE DATABASE IF NOT EXISTS k2");
    // 18.16 predates kafka_poll_max_batch_size and kafka_flush_interval_ms: such a table flushes at the server's
    // stream_flush_interval_ms, which discovery says
    const ddl = K2_DDL.replace("(`message` String)", "(message String)").replace(
      /, kafka_poll_max_batch_size = 10000, kafka_flush_interval_ms = 7500$/,
      "",
    );
    await t.command(ddl);
    const found = await discoverKafkaSettings(t, "k2");
    await t.close();
    expect(found).toEqual([
      { table: "k2.trades_binance_queue", flushIntervalMs: 7500, maxBlockSize: 10_000, source: "default" },
    ]);
  }, 60_000);
});
