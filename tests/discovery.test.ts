import { describe, expect, test } from "bun:test";
import { mapTradeTable, timeResolutionMs, lagClock, type ColumnInfo } from "../lib/k2/discovery.ts";

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
