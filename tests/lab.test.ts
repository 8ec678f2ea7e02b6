// The lab on the real embedded engine, checked against the replayer's own ground truth.
import { beforeAll, describe, expect, test } from "bun:test";
import type { Target } from "../lib/io/clickhouse.ts";
import { discoverWithObservation, lagClock, type Mapping } from "../lib/k2/discovery.ts";
import { runLab } from "../lib/lab/lab.ts";
import { countsSql, ohlcvSql } from "../lib/lab/queries.ts";
import { parseDelay } from "../lib/lab/random.ts";
import { type CountRow, type OhlcvRow, ohlcvConsistency, reconcile } from "../lib/lab/reconcile.ts";
import type { ReplaySummary } from "../lib/lab/replayer.ts";
import { parseFault } from "../lib/lab/traffic.ts";
import { testEngine } from "./helpers.ts";

const config = { discovery: { columns: {} } };
const checkCounts = async (t: Target, mappings: Mapping[]) =>
  reconcile(
    await t.query<CountRow>(
      countsSql(
        mappings.filter((m) => m.layer === "bronze"),
        mappings.find((m) => m.layer === "silver")!,
      ),
    ),
  );

// 20 s: every verdict here is on counts, which need no longer (a minute at a 100 ms flush kept a core busy for it:
// each insert runs silver's and the six OHLCV views)
describe("runLab: 20 s at 1x", () => {
  let t: Target, summary: ReplaySummary, mappings: Mapping[];
  beforeAll(async () => {
    t = await testEngine();
    summary = await runLab(t, {
      ratePerSec: 50,
      durationMs: 20_000,
      seed: 42,
      delay: parseDelay("lognormal:40ms,0.5"),
      flushMs: 500,
    });
    mappings = await discoverWithObservation(t, "k2", config);
  }, 120_000);

  test("the achieved rate is measured near 50 msg/s", () => {
    // Poisson: 1000 expected, sd 32; 4 sd either side
    expect(summary.sent).toBeGreaterThan(872);
    expect(summary.sent).toBeLessThan(1128);
    expect(summary.achievedRate).toBeCloseTo(summary.sent / 20, 5);
  });
  test("nothing is lost: bronze and silver rows equal rows sent, per exchange", async () => {
    const counts = await checkCounts(t, mappings);
    expect(counts.map((c) => c.exchange).sort()).toEqual(["binance", "coinbase", "kraken"]);
    for (const c of counts) {
      expect(c.silver).toBe(summary.perExchange[c.exchange as "binance"].sent);
      expect(c.bronze).toBe(c.sent);
      expect(c.status).toBe("PASS");
    }
  });
  test("every OHLCV timeframe counts exactly the silver trades", async () => {
    const rows = ohlcvConsistency(await t.query<OhlcvRow>(ohlcvSql("k2", mappings.find((m) => m.layer === "silver")!)));
    expect(rows.length).toBe(18); // 6 timeframes x 3 exchanges
    for (const r of rows) expect([r.timeframe, r.exchange, r.diff]).toEqual([r.timeframe, r.exchange, 0]);
  });
  test("discovery on the lab schema flags the one-second bronze ingestion time", () => {
    const bronze = mappings.filter((m) => m.layer === "bronze");
    expect(bronze.length).toBe(3);
    for (const m of bronze) {
      expect(m.ingestionTime).toMatchObject({
        column: "ingestion_timestamp",
        resolutionMs: 1000,
        observedResolutionMs: 1000,
      });
      expect(m.notes.join(" ")).toContain("one-second resolution");
    }
    const silver = mappings.find((m) => m.layer === "silver")!;
    expect(silver.exchangeTime.column).toBe("timestamp");
    expect(silver.ingestionTime.observedResolutionMs).toBe(1000); // DateTime64(6) by type, whole seconds in data
    expect(lagClock(silver).column).toBe("processed_at");
  });
});

test("runLab with a dropped range: truth records the drop, the layers do not invent rows", async () => {
  const t = await testEngine();
  const s = await runLab(t, {
    ratePerSec: 200,
    durationMs: 5_000,
    seed: 5,
    delay: parseDelay("fixed:10ms"),
    flushMs: 50,
    faults: [parseFault("drop:kraken@1s+2s")],
  });
  expect(s.dropped).toBeGreaterThan(0);
  const counts = await checkCounts(t, await discoverWithObservation(t, "k2", config));
  const kraken = counts.find((c) => c.exchange === "kraken")!;
  expect(kraken.dropped).toBe(s.dropped);
  expect(kraken.silver).toBe(kraken.sent);
  expect(kraken.generated).toBe(kraken.sent + kraken.dropped);
}, 60_000);
