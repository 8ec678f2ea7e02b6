import { describe, expect, test } from "bun:test";
import { parseConfig } from "../lib/k2/config.ts";
import { parseDelay, seeded } from "../lib/lab/random.ts";
import { formatFault, parseFault, within } from "../lib/lab/traffic.ts";
import { durationSpec, parseDuration, parseNumber, parseRate } from "../lib/runtime/units.ts";

describe("parseDuration", () => {
  test.each([
    ["250ms", 250],
    ["60s", 60_000],
    ["5m", 300_000],
    ["5min", 300_000],
    ["24h", 86_400_000],
    ["1.5h", 5_400_000],
    ["90", 90_000],
    ["3m20s", 200_000],
    ["1h30m", 5_400_000],
    ["1m 0.5s", 60_500],
  ])("%s", (v, ms) => expect(parseDuration(v)).toBe(ms));
  test("rejects with the value named", () => {
    expect(() => parseDuration("soon", "--duration")).toThrow(
      'invalid --duration: "soon" (expected e.g. 250ms, 60s, 5m, 3m20s, 24h)',
    );
    expect(() => parseDuration("20s3m", "--hold")).toThrow(
      'invalid --hold: "20s3m" (units must go from largest to smallest, each once, e.g. 1h30m)',
    );
    expect(() => parseDuration("3m20", "--hold")).toThrow("expected e.g.");
    expect(() => parseDuration("5mm")).toThrow("expected e.g.");
    expect(() => parseDuration("0s")).toThrow("greater than zero");
  });
});

test("durationSpec is parseDuration's inverse; formatFault is parseFault's", () => {
  expect([190_000, 250, 5_400_000, 60_500, 86_400_000].map(durationSpec)).toEqual([
    "3m10s",
    "250ms",
    "1h30m",
    "1m500ms",
    "1d",
  ]);
  for (const ms of [190_000, 250, 5_400_000, 60_500, 1]) expect(parseDuration(durationSpec(ms))).toBe(ms);
  for (const spec of [
    "silence:binance@10s+3m10s",
    "drop:kraken/XBT/USD@20s+5s",
    "stall@0s+10s",
    "drop:kraken@fault+3s",
  ])
    expect(formatFault(parseFault(spec))).toBe(spec);
});

test("a lab fault timed from a test's fault is never in effect until anchored, then from the anchor", () => {
  const f = parseFault("drop:kraken@fault+3s");
  expect([0, 5_000, 1e9].map((t) => within(f, t))).toEqual([false, false, false]);
  f.anchorMs = 12_000;
  expect([11_999, 12_000, 14_999, 15_000].map((t) => within(f, t))).toEqual([false, true, true, false]);
  expect([9_999, 10_000].map((t) => within(parseFault("drop:kraken@10s+3s"), t))).toEqual([false, true]);
});

describe("parseRate", () => {
  test("multiples of the 50 msg/s baseline and plain rates", () => {
    expect(parseRate("1x")).toBe(50);
    expect(parseRate("10x")).toBe(500);
    expect(parseRate("120/s")).toBe(120);
    expect(parseRate("75")).toBe(75);
  });
  test("rejects", () => expect(() => parseRate("fast", "--rate")).toThrow('invalid --rate: "fast"'));
});

test("parseNumber bounds", () => {
  expect(parseNumber("7", "--seed", 0)).toBe(7);
  expect(() => parseNumber("-1", "--seed", 0)).toThrow('invalid --seed: "-1" (expected a number >= 0)');
});

describe("parseDelay", () => {
  const rng = seeded(3);
  test("fixed and uniform", () => {
    expect(parseDelay("fixed:5ms").sample(rng)).toBe(5);
    for (let i = 0; i < 100; i++) {
      const d = parseDelay("uniform:5ms-50ms").sample(rng);
      expect(d).toBeGreaterThanOrEqual(5);
      expect(d).toBeLessThanOrEqual(50);
    }
  });
  test("lognormal median is recovered from 20k draws", () => {
    const d = parseDelay("lognormal:median=40ms,sigma=0.5"),
      r = seeded(11);
    const xs = Array.from({ length: 20_000 }, () => d.sample(r)).sort((a, b) => a - b);
    expect(xs[10_000]!).toBeGreaterThan(39);
    expect(xs[10_000]!).toBeLessThan(41);
    // p99 of a lognormal is median * exp(2.326 * sigma) = 128 ms
    expect(xs[19_800]!).toBeGreaterThan(120);
    expect(xs[19_800]!).toBeLessThan(137);
  });
  test("rejects unknown kinds with an example", () =>
    expect(() => parseDelay("gamma:3")).toThrow(
      'invalid delay: "gamma:3" (unknown distribution "gamma"; e.g. lognormal:40ms,0.5 or fixed:5ms)',
    ));
});

describe("parseFault", () => {
  test("forms", () => {
    expect(parseFault("silence:binance@10s+3m")).toEqual({
      kind: "silence",
      exchange: "binance",
      atMs: 10_000,
      forMs: 180_000,
    });
    expect(parseFault("drop:kraken/XBT/USD@20s+5s")).toEqual({
      kind: "drop",
      exchange: "kraken",
      symbol: "XBT/USD",
      atMs: 20_000,
      forMs: 5_000,
    });
    expect(parseFault("stall@0s+10s")).toEqual({ kind: "stall", atMs: 0, forMs: 10_000 });
  });
  test("rejects", () => {
    expect(() => parseFault("silence:bitstamp@1s+1s")).toThrow('unknown exchange "bitstamp"');
    expect(() => parseFault("drop:kraken/BTCUSDT@1s+1s")).toThrow("kraken has no symbol BTCUSDT");
    expect(() => parseFault("explode")).toThrow("unrecognised form");
  });
});

describe("parseConfig", () => {
  test("accepts overrides", () => {
    expect(
      parseConfig({ discovery: { columns: { silver_trades: { ingestionTime: "processed_at" } } } }).discovery.columns
        .silver_trades,
    ).toEqual({ ingestionTime: "processed_at" });
  });
  test("names the bad key", () => {
    expect(() =>
      parseConfig({ discovery: { columns: { silver_trades: { arrival: "x" } } } }, "k2.config.json"),
    ).toThrow('invalid discovery.columns.silver_trades.arrival in k2.config.json: "arrival"');
    expect(() => parseConfig({ discovery: { tables: "silver" } }, "k2.config.json")).toThrow(
      "invalid discovery.tables in k2.config.json",
    );
  });
});
