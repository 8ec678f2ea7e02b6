import { describe, expect, test } from "bun:test";
import { type ColumnInfo, discoverTables, lagClock, mapTradeTable, timeResolutionMs } from "../lib/k2/discovery.ts";
import { testEngine } from "./helpers.ts";

const cols = (table: string, spec: string): ColumnInfo[] =>
  spec
    .trim()
    .split("\n")
    .map((l) => {
      const [name, ...type] = l.trim().split(" ");
      return { table, name: name!, type: type.join(" ") };
    });

// The shapes FACTS.md gives for the real tables.
const BRONZE = cols(
  "bronze_trades_binance",
  `
  exchange_timestamp DateTime64(3)
  sequence_number UInt64
  symbol String
  price Decimal(18, 8)
  event_time DateTime64(3)
  kafka_offset UInt64
  ingestion_timestamp DateTime`,
);
const SILVER = cols(
  "silver_trades",
  `
  message_id UUID
  trade_id String
  exchange LowCardinality(String)
  symbol String
  canonical_symbol String
  timestamp DateTime64(6, 'UTC')
  ingestion_timestamp DateTime64(6, 'UTC')
  processed_at DateTime64(6)
  source_sequence Nullable(UInt64)`,
);

describe("timeResolutionMs", () => {
  test.each([
    ["DateTime", 1000],
    ["DateTime('UTC')", 1000],
    ["DateTime64(3)", 1],
    ["DateTime64(6, 'UTC')", 0.001],
    ["Nullable(DateTime64(9))", 0.000001],
    ["Date", 86_400_000],
    ["String", null],
  ])("%s", (t, r) => expect(timeResolutionMs(t)).toBe(r as number | null));
});

describe("mapTradeTable", () => {
  test("bronze: exchange from the table name, one-second ingestion flagged", () => {
    const m = mapTradeTable("k2.bronze_trades_binance", BRONZE);
    expect(m.exchangeTime).toEqual({ column: "exchange_timestamp", type: "DateTime64(3)", resolutionMs: 1 });
    expect(m.ingestionTime.resolutionMs).toBe(1000);
    expect(m.exchange).toEqual({ constant: "binance" });
    expect(m.sequence).toBe("sequence_number");
    expect(m.notes.join(" ")).toContain("one-second resolution");
  });
  test("silver: exchange time is `timestamp`, processed_at offered as the finer clock", () => {
    const m = mapTradeTable("k2.silver_trades", SILVER);
    expect(m.exchangeTime.column).toBe("timestamp");
    expect(m.ingestionTime.column).toBe("ingestion_timestamp");
    expect(m.finerIngestion?.column).toBe("processed_at");
    expect(m.sequence).toBe("source_sequence");
    expect(m.exchange).toEqual({ column: "exchange" });
  });
  test("lagClock prefers the finer clock once the data shows the mapped one is whole seconds", () => {
    const m = mapTradeTable("k2.silver_trades", SILVER);
    expect(lagClock(m).column).toBe("ingestion_timestamp");
    m.ingestionTime.observedResolutionMs = 1000;
    m.finerIngestion!.observedResolutionMs = 0.001;
    expect(lagClock(m).column).toBe("processed_at");
  });
  test("overrides win and are checked", () => {
    expect(mapTradeTable("k2.silver_trades", SILVER, { ingestionTime: "processed_at" }).ingestionTime.column).toBe(
      "processed_at",
    );
    expect(() => mapTradeTable("k2.silver_trades", SILVER, { exchangeTime: "arrival" })).toThrow(
      'override "arrival" is not a column',
    );
    expect(() => mapTradeTable("k2.silver_trades", SILVER, { exchangeTime: "symbol" })).toThrow(
      "unsuitable type String",
    );
  });
  test("a failed mapping names the table and the columns it found", () => {
    const t = cols("trades", "id UInt64\nsymbol String\nprice Float64");
    expect(() => mapTradeTable("k2.trades", t)).toThrow(
      "cannot map the exchangeTime column of k2.trades: no time column among " +
        "exchange_timestamp/exchange_time/trade_time/timestamp/event_time; found: id UInt64, symbol String, price " +
        'Float64; set discovery.columns["trades"].exchangeTime in k2.config.json',
    );
  });
});

describe("discovery on a deployed schema's shape (the embedded engine)", () => {
  // As a deployed K2 database holds them: beside each bronze table its materialized view (`bronze_trades_<ex>_mv`)
  // and, for Binance, its Kafka engine table (`bronze_trades_binance_queue`; kraken's is `trades_kraken_queue`).
  // No view reads the Kafka table here, so that no consumer starts; discovery sees names and engines alone.
  const DB = "k2_deployed_shape";
  const bronze = (ex: string) =>
    `CREATE TABLE ${DB}.bronze_trades_${ex} (exchange_timestamp DateTime64(3), sequence_number UInt64, ` +
    `symbol String, price Decimal(18, 8), kafka_offset UInt64, ingestion_timestamp DateTime DEFAULT now()) ` +
    "ENGINE = MergeTree ORDER BY (symbol, exchange_timestamp)";
  const kafka = (name: string, ex: string) =>
    `CREATE TABLE ${DB}.${name} (message String) ENGINE = Kafka SETTINGS kafka_broker_list = '127.0.0.1:1', ` +
    `kafka_topic_list = 'market.crypto.trades.${ex}.raw', kafka_group_name = 'g_${ex}', kafka_format = 'JSONAsString'`;
  const view = (ex: string) =>
    `CREATE MATERIALIZED VIEW ${DB}.bronze_trades_${ex}_mv TO ${DB}.bronze_trades_${ex} AS SELECT ` +
    `exchange_timestamp, sequence_number, symbol, price, kafka_offset FROM ${DB}.raw_${ex}`;
  test("views and Kafka tables are listed as not measured with their engine; trade tables are mapped", async () => {
    const db = await testEngine();
    await db.command(`DROP DATABASE IF EXISTS ${DB}`);
    await db.command(`CREATE DATABASE ${DB}`);
    for (const ex of ["binance", "kraken"]) {
      await db.command(bronze(ex));
      await db.command(bronze(ex).replace(`bronze_trades_${ex}`, `raw_${ex}`));
      await db.command(view(ex));
    }
    await db.command(kafka("bronze_trades_binance_queue", "binance"));
    await db.command(kafka("trades_kraken_queue", "kraken"));
    const d = await discoverTables(db, DB, { discovery: { columns: {} } });
    expect(d.mappings.map((m) => m.table).sort()).toEqual([
      `${DB}.bronze_trades_binance`,
      `${DB}.bronze_trades_kraken`,
    ]);
    expect(d.notMeasured.sort((a, b) => a.table.localeCompare(b.table))).toEqual([
      { table: `${DB}.bronze_trades_binance_mv`, engine: "MaterializedView" },
      { table: `${DB}.bronze_trades_binance_queue`, engine: "Kafka" },
      { table: `${DB}.bronze_trades_kraken_mv`, engine: "MaterializedView" },
    ]);
    // a table named in discovery.tables that cannot be mapped is still an error, naming the fix
    await expect(
      discoverTables(db, DB, { discovery: { tables: ["bronze_trades_binance_queue"], columns: {} } }),
    ).rejects.toThrow(
      /cannot map the exchangeTime column of k2_deployed_shape.bronze_trades_binance_queue: .*k2.config.json/,
    );
    await db.command(`DROP DATABASE ${DB}`);
  });
});
