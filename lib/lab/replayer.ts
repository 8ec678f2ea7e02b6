// The trade replayer: walks the generated market in real time, hands each trade to the
// consumer when its drawn delay has elapsed, and flushes like a Kafka-engine consumer
// (every `flushMs`, at most `maxBatch` rows per insert, one queue table per exchange).
// The engine stamps ingestion time at insert. Ground truth (every trade, its status, the
// delay drawn, the batch it went in, each insert's round-trip time) goes to the truth db.
import { type Fault, type Trade, generateTrades, toMessage, within } from "./traffic.ts";
import type { Delay } from "./random.ts";
import { EXCHANGES, type Exchange } from "./instruments.ts";
import type { Conduits } from "./conduit.ts";

export type Sink = { insert(table: string, rows: Record<string, unknown>[]): Promise<void> };
export type Clock = { now(): number; sleep(ms: number): Promise<void> };
export const realClock: Clock = { now: () => performance.timeOrigin + performance.now(), sleep: (ms) => Bun.sleep(ms) };

export type ReplayOptions = {
  ratePerSec: number;
  durationMs: number;
  seed: number;
  delay: Delay;
  flushMs: number;
  maxBatch?: number;
  faults?: Fault[];
  database?: string;
  truthDb?: string;
  /** trades pass through the handler containers (lib/lab/conduit.ts) instead of straight to the consumer */
  conduits?: Conduits;
  /** live switches for the failure-mode tests: hold the consumer (a broker or ClickHouse outage), or end early */
  control?: { paused: boolean; stop: boolean };
};
export type ReplaySummary = {
  startMs: number;
  endMs: number;
  lastExchangeTs: number;
  generated: number;
  sent: number;
  dropped: number;
  silenced: number;
  handlerDown: number;
  batches: number;
  perExchange: Record<Exchange, { generated: number; sent: number }>;
  achievedRate: number; // delivered msg/s over the generation window
  insertRttMs: { mean: number; max: number };
};

export async function replay(
  sink: Sink,
  o: ReplayOptions,
  clock: Clock = realClock,
  onTick?: (elapsedMs: number, s: ReplaySummary) => void,
): Promise<ReplaySummary> {
  const db = o.database ?? "k2",
    truthDb = o.truthDb ?? "k2lab",
    maxBatch = o.maxBatch ?? 10_000;
  const startMs = clock.now();
  const trades = generateTrades({
    ratePerSec: o.ratePerSec,
    startMs,
    durationMs: o.durationMs,
    seed: o.seed,
    delay: o.delay,
    faults: o.faults,
  });
  const stalls = (o.faults ?? []).filter((f) => f.kind === "stall");
  const s: ReplaySummary = {
    startMs,
    endMs: startMs,
    lastExchangeTs: startMs,
    generated: 0,
    sent: 0,
    dropped: 0,
    silenced: 0,
    handlerDown: 0,
    batches: 0,
    perExchange: Object.fromEntries(
      EXCHANGES.map((e) => [e, { generated: 0, sent: 0 }]),
    ) as ReplaySummary["perExchange"],
    achievedRate: 0,
    insertRttMs: { mean: 0, max: 0 },
  };
  const inFlight = new MinHeap<Trade>((a, b) => a.receiveTs - b.receiveTs);
  const offsets = new Map<Exchange, number>();
  let truth: Record<string, unknown>[] = [],
    batchLog: Record<string, unknown>[] = [];
  let lastTruthFlush = startMs,
    rttSum = 0;
  const flushTruth = async () => {
    await sink.insert(`${truthDb}.sent`, truth);
    await sink.insert(`${truthDb}.batches`, batchLog);
    truth = [];
    batchLog = [];
    lastTruthFlush = clock.now();
  };
  const record = (t: Trade, flushed: number | null, batch: number) =>
    truth.push({
      exchange: t.exchange,
      symbol: t.symbol,
      sequence_number: t.sequence,
      exchange_ts: utc(t.exchangeTs),
      delay_ms: t.delayMs,
      receive_ts: utc(t.receiveTs),
      flushed_ts: flushed === null ? null : utc(flushed),
      batch_id: batch,
      status: t.status,
    });

  const viaHandler = new Map<string, Trade>(); // handed to a handler container, not yet consumed
  let drainUntil: number | undefined;
  let next = trades.next();
  for (;;) {
    const tickStart = clock.now();
    // Trades that have happened on the exchange by now are in flight (or lost to a fault).
    if (o.control?.stop && !next.done) next = { done: true, value: undefined };
    while (!next.done && next.value.exchangeTs <= tickStart) {
      const t = next.value;
      s.generated++;
      s.perExchange[t.exchange].generated++;
      s.lastExchangeTs = t.exchangeTs;
      if (t.status === "sent") inFlight.push(t);
      else {
        s[t.status as "dropped" | "silenced"]++;
        record(t, null, 0);
      }
      next = trades.next();
    }
    // With handler containers, a trade reaches the consumer only through its handler.
    if (o.conduits) {
      while (inFlight.size && inFlight.peek()!.receiveTs <= tickStart) {
        const t = inFlight.pop()!;
        if (o.conduits.send(t.exchange, `${t.symbol}\t${t.sequence}`))
          viaHandler.set(`${t.exchange}\t${t.symbol}\t${t.sequence}`, t);
        else {
          s.handlerDown++;
          record({ ...t, status: "handler_down" }, null, 0);
        }
      }
    }
    if (!stalls.some((f) => within(f, tickStart - startMs)) && !o.control?.paused) {
      const due = new Map<Exchange, Trade[]>();
      if (o.conduits) {
        for (const e of EXCHANGES)
          for (const line of o.conduits.collect(e)) {
            const key = `${e}\t${line}`,
              t = viaHandler.get(key);
            if (!t) continue; // a line from before this run
            viaHandler.delete(key);
            (due.get(e) ?? due.set(e, []).get(e)!).push(t);
          }
      } else
        while (inFlight.size && inFlight.peek()!.receiveTs <= tickStart) {
          const t = inFlight.pop()!;
          (due.get(t.exchange) ?? due.set(t.exchange, []).get(t.exchange)!).push(t);
        }
      // One batch per exchange queue table per flush. The inserts go one after another: on the
      // embedded engine concurrent inserts contend for the same cores and each takes longer.
      for (const [exchange, list] of due) {
        for (let i = 0; i < list.length; i += maxBatch) {
          const batch = list.slice(i, i + maxBatch),
            id = ++s.batches;
          const messages = batch.map((t) => {
            const off = (offsets.get(exchange) ?? 0) + 1;
            offsets.set(exchange, off);
            return { message: toMessage(t, off) };
          });
          const flushed = clock.now();
          await sink.insert(`${db}.trades_${exchange}_queue`, messages);
          const rtt = clock.now() - flushed;
          rttSum += rtt;
          s.insertRttMs.max = Math.max(s.insertRttMs.max, rtt);
          batchLog.push({ batch_id: id, exchange, rows: batch.length, started: utc(flushed), rtt_ms: rtt });
          for (const t of batch) record(t, flushed, id);
          s.sent += batch.length;
          s.perExchange[exchange].sent += batch.length;
        }
      }
    }
    if (truth.length >= 5000 || clock.now() - lastTruthFlush > 5000) await flushTruth();
    s.endMs = clock.now();
    onTick?.(s.endMs - startMs, s);
    // Done when everything generated has been delivered or lost; trades stuck in a handler
    // (a paused one) are given a grace period, then recorded as never delivered.
    if (
      next.done &&
      inFlight.size === 0 &&
      (viaHandler.size === 0 || clock.now() > (drainUntil ??= clock.now() + 5000))
    )
      break;
    await clock.sleep(Math.max(0, o.flushMs - (clock.now() - tickStart)));
  }
  for (const t of viaHandler.values()) record(t, null, 0); // sent to a handler, never reached the consumer
  await flushTruth();
  s.insertRttMs.mean = s.batches ? rttSum / s.batches : 0;
  s.achievedRate = s.sent / (o.durationMs / 1000);
  return s;
}

/** "2026-11-25 17:13:28.945123" in UTC, for DateTime64(..., 'UTC') columns. */
export function utc(ms: number): string {
  const whole = Math.floor(ms),
    us = Math.round((ms - whole) * 1000);
  return new Date(whole).toISOString().replace("T", " ").replace("Z", "") + String(Math.min(us, 999)).padStart(3, "0");
}

/** A binary min-heap: trades in flight, ordered by when the handler receives them. */
export class MinHeap<T> {
  private a: T[] = [];
  constructor(private less: (x: T, y: T) => number) {}
  get size() {
    return this.a.length;
  }
  peek(): T | undefined {
    return this.a[0];
  }
  push(v: T) {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a,
      top = a[0],
      last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
