import { describe, expect, test } from "bun:test";
import { kafkaTableOf, SEQUENCE_SCOPE } from "../lib/k2/stack.ts";
import { INSTRUMENTS } from "../lib/lab/instruments.ts";
import { parseDelay } from "../lib/lab/random.ts";
import { type Clock, MinHeap, replay, type Sink, utc } from "../lib/lab/replayer.ts";
import { generateTrades, parseFault } from "../lib/lab/traffic.ts";
import { wallAnchored } from "../lib/runtime/clock.ts";

const delay = parseDelay("fixed:20ms");
const opts = { ratePerSec: 100, startMs: 1_700_000_000_000, durationMs: 60_000, seed: 7, delay };

describe("generateTrades", () => {
  test("same seed, same trades", () => {
    const a = [...generateTrades(opts)],
      b = [...generateTrades(opts)];
    expect(a).toEqual(b);
  });
  test("Poisson count near rate x duration, exchange shares near 50/30/20", () => {
    const t = [...generateTrades(opts)];
    // 6000 expected; a Poisson count's sd is sqrt(6000) = 77, so 4 sd is 310
    expect(Math.abs(t.length - 6000)).toBeLessThan(310);
    const share = (e: string) => t.filter((x) => x.exchange === e).length / t.length;
    expect(share("binance")).toBeCloseTo(0.5, 1);
    expect(share("coinbase")).toBeCloseTo(0.3, 1);
    expect(share("kraken")).toBeCloseTo(0.2, 1);
  });
  test("sequence numbers increase by one per symbol (Coinbase: per connection); symbols are the venue's own", () => {
    const last = new Map<string, number>();
    for (const t of generateTrades(opts)) {
      expect(INSTRUMENTS[t.exchange]).toContain(t.symbol);
      const k = SEQUENCE_SCOPE[t.exchange] === "connection" ? t.exchange : `${t.exchange}/${t.symbol}`;
      if (last.has(k)) expect(t.sequence).toBe(last.get(k)! + 1);
      last.set(k, t.sequence);
      expect(t.receiveTs).toBe(t.exchangeTs + 20);
    }
  });
  test("faults mark exactly the trades in their window", () => {
    const t = [
      ...generateTrades({ ...opts, faults: [parseFault("drop:kraken@10s+5s"), parseFault("silence:binance@30s+10s")] }),
    ];
    for (const x of t) {
      const off = x.exchangeTs - opts.startMs;
      const dropped = x.exchange === "kraken" && off >= 10_000 && off < 15_000;
      const silenced = x.exchange === "binance" && off >= 30_000 && off < 40_000;
      expect(x.status).toBe(dropped ? "dropped" : silenced ? "silenced" : "sent");
    }
  });
});

/** A clock that advances only when the replayer sleeps: the run takes no real time. */
function fakeClock(start: number): Clock & { t: number } {
  const c = {
    t: start,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}
function arraySink() {
  const inserts: { table: string; rows: Record<string, unknown>[]; at: number }[] = [];
  return {
    inserts,
    sink: (clock: Clock): Sink => ({
      insert: async (table, rows) => void inserts.push({ table, rows, at: clock.now() }),
    }),
  };
}

describe("replay", () => {
  test("delivers every sent trade once, in flush-sized batches, after its delay", async () => {
    const clock = fakeClock(opts.startMs),
      { inserts, sink } = arraySink();
    const s = await replay(
      sink(clock),
      {
        ratePerSec: 100,
        durationMs: 10_000,
        seed: 1,
        delay,
        flushMs: 100,
        faults: [parseFault("drop:coinbase@2s+1s")],
      },
      clock,
    );
    const queued = inserts.filter((i) => i.table.endsWith("_queue"));
    const messages = queued.flatMap((i) => i.rows.map((r) => JSON.parse(r.message as string)));
    expect(messages.length).toBe(s.sent);
    expect(s.sent + s.dropped).toBe(s.generated);
    expect(s.dropped).toBeGreaterThan(0);
    expect(new Set(messages.map((m) => `${m.symbol}#${m.sequence_number}`)).size).toBe(s.sent);
    for (const q of queued)
      for (const r of q.rows)
        expect(q.at).toBeGreaterThanOrEqual(JSON.parse(r.message as string).exchange_timestamp + 20);
    // ground truth holds every generated trade, with its status
    const truth = inserts.filter((i) => i.table === "k2lab.sent").flatMap((i) => i.rows);
    expect(truth.length).toBe(s.generated);
    expect(truth.filter((r) => r.status === "dropped").length).toBe(s.dropped);
  });
  test("a stall holds deliveries back and releases them after", async () => {
    const clock = fakeClock(opts.startMs),
      { inserts, sink } = arraySink();
    await replay(
      sink(clock),
      { ratePerSec: 50, durationMs: 6_000, seed: 2, delay, flushMs: 100, faults: [parseFault("stall@2s+2s")] },
      clock,
    );
    const during = inserts.filter(
      (i) => i.table.endsWith("_queue") && i.at - opts.startMs >= 2_000 && i.at - opts.startMs < 4_000,
    );
    expect(during.length).toBe(0);
    const after = inserts.filter(
      (i) => i.table.endsWith("_queue") && i.at - opts.startMs >= 4_000 && i.at - opts.startMs < 4_100,
    );
    expect(after.reduce((a, i) => a + i.rows.length, 0)).toBeGreaterThan(50); // ~2 s of backlog
  });
});

describe("the Kafka engine's flush rule", () => {
  const flushesOf = async (o: { ratePerSec: number; flushMs: number; maxBatch: number }) => {
    const clock = fakeClock(opts.startMs),
      { inserts, sink } = arraySink();
    await replay(sink(clock), { ...o, durationMs: 30_000, seed: 3, delay: parseDelay("fixed:0") }, clock);
    return inserts.filter((i) => i.table === `k2.${kafkaTableOf("binance")}`);
  };
  test("below a block per interval (K2 at 1x: 7.5 s, 10000 rows), each table flushes once per interval", async () => {
    const q = await flushesOf({ ratePerSec: 50, flushMs: 7500, maxBatch: 10_000 });
    const gaps = q.slice(1).map((x, i) => x.at - q[i]!.at);
    expect(q.length).toBe(4); // 30 s of trades in four intervals; the rest drains at the fifth
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(7500);
    for (const g of gaps) expect(g).toBeLessThan(7500 + 20 * 2);
    // a trade waits for the interval: the oldest in each block waited nearly all of it
    const waits = q.map(
      (x) => x.at - Math.min(...x.rows.map((r) => JSON.parse(r.message as string).exchange_timestamp)),
    );
    for (const w of waits.slice(0, 3)) expect(w).toBeGreaterThan(7000);
  });
  test("a block that fills flushes at once, before its interval ends", async () => {
    const q = await flushesOf({ ratePerSec: 500, flushMs: 7500, maxBatch: 100 }); // binance ~250/s: full in ~0.4 s
    const full = q.filter((x) => x.rows.length === 100);
    expect(full.length).toBeGreaterThan(q.length * 0.9);
    const gaps = full.slice(1).map((x, i) => x.at - full[i]!.at);
    expect(Math.max(...gaps)).toBeLessThan(1000);
  });
});

test("MinHeap pops in order", () => {
  const h = new MinHeap<number>((a, b) => a - b),
    xs = [5, 3, 9, 1, 1, 7, 2];
  xs.forEach((x) => h.push(x));
  expect(Array.from({ length: xs.length }, () => h.pop())).toEqual([...xs].sort((a, b) => a - b));
});

test("utc formats microseconds", () =>
  expect(utc(Date.UTC(2026, 1, 19, 9, 30, 0, 123) + 0.456)).toBe("2026-02-19 09:30:00.123456"));

test("the lab's clock follows the wall when the monotonic clock does not (a VM paused, the wall clock stepped)", () => {
  let wall = 1_700_000_000_000,
    mono = 1000.25;
  const now = wallAnchored(
    () => Math.floor(wall),
    () => mono,
  );
  const read = (w: number, m: number) => ((wall = w), (mono = m), now());
  expect(read(1_700_000_000_000.6, 1000.6)).toBeCloseTo(1_700_000_000_000.35, 6); // sub-ms from the monotonic clock
  // paused for 5 s: the wall moved on, the monotonic clock did not (timeOrigin + now() would read 5 s early)
  expect(read(1_700_000_005_000.9, 1001)).toBeCloseTo(1_700_000_005_000, 6);
  expect(read(1_700_000_005_001.4, 1001.5)).toBeCloseTo(1_700_000_005_000.5, 6);
  // stepped back 2 s: followed too
  expect(read(1_700_000_003_002, 1003)).toBeCloseTo(1_700_000_003_002, 6);
});
