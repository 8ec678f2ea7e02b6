// The trade replayer: walks the generated market in real time, hands each trade to the
// consumer when its drawn delay has elapsed, and flushes by the Kafka engine's rule, one
// consumer per exchange queue table: a block goes when it holds `maxBatch` rows or when
// `flushMs` has passed since that table's last flush, whichever comes first (K2: 10000 rows,
// 7.5 s). The engine stamps ingestion time at insert. Ground truth (every trade, its status, the
// delay drawn, the batch it went in, each insert's round-trip time) goes to the truth db.

import { KAFKA_ENGINE, kafkaTableOf } from "../k2/stack.ts";
import { wallAnchored } from "../runtime/clock.ts";
import type { Conduits } from "./conduit.ts";
import { EXCHANGES, type Exchange } from "./instruments.ts";
import type { Delay } from "./random.ts";
import { LAB_TRUTH_DB } from "./schema.ts";
import type { LabTopics } from "./topics.ts";
import { type Fault, generateTrades, type Trade, toMessage, within } from "./traffic.ts";

export type Sink = { insert(table: string, rows: Record<string, unknown>[]): Promise<void> };
export type Clock = { now(): number; sleep(ms: number): Promise<void> };
// the engine stamps processed_at by the wall clock, so the lab times trades by the wall too (lib/runtime/clock.ts)
const realClock: Clock = { now: wallAnchored(), sleep: (ms) => Bun.sleep(ms) };

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
  /**
   * live switches: hold the consumer (a broker or ClickHouse outage), end early, or change the rate (the lab's load)
   */
  control?: { paused: boolean; stop: boolean; rate?: number; silenced?: Set<Exchange> };
  /** the topics the pipeline carries, shared with k2-redpanda's rpk stand-in: what it produces is consumed too */
  topics?: LabTopics;
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
  /** messages produced into the topics by someone else (a load's replayed copies), consumed and inserted as they are */
  copies: number;
  /** inserts the engine refused: the block stays with the consumer and is tried again at the next flush */
  failedInserts: number;
  /** per exchange, messages that reached the topic and the consumer has not inserted yet: its consumer lag */
  backlog: Record<Exchange, number>;
  batches: number;
  perExchange: Record<Exchange, { generated: number; sent: number }>;
  achievedRate: number; // delivered msg/s over the generation window
  insertRttMs: { mean: number; max: number };
};

/**
 * The consumer's flush where the lab stands in for a running stack rather than timing one (the failure tests, step 5's
 * drill, the health check's replay): a trade lands within half of an observation's 1 s tick, so that recovery and
 * freshness are the pipeline's, not the flush interval's. Not shorter: every insert runs silver's and the six OHLCV
 * views, about 50 ms of a core on the embedded engine whatever the block's size (measured), so at 100 ms the three
 * consumers took a core of their own.
 */
export const LAB_QUICK_FLUSH_MS = 500;

/** How often the consumer looks at its tables: a flush is late by at most this. */
const TICK_MS = 20;

export async function replay(
  sink: Sink,
  options: ReplayOptions,
  clock: Clock = realClock,
  onTick?: (elapsedMs: number, summary: ReplaySummary) => void,
): Promise<ReplaySummary> {
  const r = new Replay(sink, options, clock);
  let drainUntil: number | undefined, stopUntil: number | undefined;
  for (;;) {
    const tickStart = clock.now();
    r.admit(tickStart);
    if (options.conduits) r.toHandlers(tickStart);
    r.arrive(r.due(tickStart));
    if (!r.stalled(tickStart)) await r.insert(r.flushable(tickStart));
    if (r.truth.length >= 5000 || clock.now() - r.lastTruthFlush > 5000) await r.flushTruth();
    r.s.endMs = clock.now();
    r.measureBacklog();
    onTick?.(r.s.endMs - r.s.startMs, r.s);
    // Done when everything generated has been delivered or lost; trades stuck in a handler
    // (a paused one) are given a grace period, then recorded as never delivered.
    if (r.drained() && (r.viaHandler.size === 0 || clock.now() > (drainUntil ??= clock.now() + 5000))) break;
    // told to stop while the engine refuses inserts: give it 10 s, then leave the block undelivered
    if (options.control?.stop && r.refusing && clock.now() > (stopUntil ??= clock.now() + 10_000)) break;
    await clock.sleep(Math.max(0, Math.min(options.flushMs, TICK_MS) - (clock.now() - tickStart)));
  }
  for (const t of r.viaHandler.values()) r.record(t, null, 0); // sent to a handler, never reached the consumer
  await r.flushTruth();
  r.s.insertRttMs.mean = r.s.batches ? r.rttSum / r.s.batches : 0;
  r.s.achievedRate = r.s.sent / (options.durationMs / 1000);
  return r.s;
}

/** One replay's state: the market still to happen, trades in flight, and the ground truth not yet written. */
class Replay {
  readonly s: ReplaySummary;
  readonly viaHandler = new Map<string, Trade>(); // handed to a handler container, not yet consumed
  truth: Record<string, unknown>[] = [];
  batchLog: Record<string, unknown>[] = [];
  lastTruthFlush: number;
  rttSum = 0;
  /** the engine refused the last insert tried */
  refusing = false;
  private readonly db: string;
  private readonly truthDb: string;
  private readonly maxBatch: number;
  private readonly stalls: Fault[];
  private readonly trades: Generator<Trade>;
  private next: IteratorResult<Trade>;
  private readonly inFlight = new MinHeap<Trade>((a, b) => a.receiveTs - b.receiveTs);
  private readonly offsets = new Map<Exchange, number>();
  /** what each table's consumer holds in its current block, and when it last flushed */
  private readonly pending = new Map<Exchange, (Trade | string)[]>();
  private readonly lastFlush = new Map<Exchange, number>();

  constructor(
    private readonly sink: Sink,
    private readonly options: ReplayOptions,
    private readonly clock: Clock,
  ) {
    this.db = options.database ?? "k2";
    this.truthDb = options.truthDb ?? LAB_TRUTH_DB;
    this.maxBatch = options.maxBatch ?? KAFKA_ENGINE.maxBlockSize;
    const startMs = clock.now();
    this.lastTruthFlush = startMs;
    this.trades = generateTrades({
      ratePerSec: options.ratePerSec,
      startMs,
      durationMs: options.durationMs,
      seed: options.seed,
      delay: options.delay,
      faults: options.faults,
      rate: () => options.control?.rate ?? options.ratePerSec,
    });
    this.next = this.trades.next();
    this.stalls = (options.faults ?? []).filter((f) => f.kind === "stall");
    this.s = {
      startMs,
      endMs: startMs,
      lastExchangeTs: startMs,
      generated: 0,
      sent: 0,
      dropped: 0,
      silenced: 0,
      handlerDown: 0,
      copies: 0,
      failedInserts: 0,
      backlog: Object.fromEntries(EXCHANGES.map((e) => [e, 0])) as Record<Exchange, number>,
      batches: 0,
      perExchange: Object.fromEntries(
        EXCHANGES.map((e) => [e, { generated: 0, sent: 0 }]),
      ) as ReplaySummary["perExchange"],
      achievedRate: 0,
      insertRttMs: { mean: 0, max: 0 },
    };
  }

  /** Trades that have happened on the exchange by now are in flight (or lost to a fault). */
  admit(now: number) {
    if (this.options.control?.stop && !this.next.done) this.next = { done: true, value: undefined };
    while (!this.next.done && this.next.value.exchangeTs <= now) {
      const t = this.next.value;
      this.s.generated++;
      this.s.perExchange[t.exchange].generated++;
      this.s.lastExchangeTs = t.exchangeTs;
      // an exchange silenced live (a handler down in a test) delivers nothing until it is released
      if (t.status === "sent" && this.options.control?.silenced?.has(t.exchange)) t.status = "silenced";
      if (t.status === "sent") this.inFlight.push(t);
      else {
        this.s[t.status as "dropped" | "silenced"]++;
        this.record(t, null, 0);
      }
      this.next = this.trades.next();
    }
  }

  /** With handler containers, a trade reaches the consumer only through its handler. */
  toHandlers(now: number) {
    while (this.inFlight.size && this.inFlight.peek()!.receiveTs <= now) {
      const t = this.inFlight.pop()!;
      if (this.options.conduits!.send(t.exchange, `${t.symbol}\t${t.sequence}`))
        this.viaHandler.set(`${t.exchange}\t${t.symbol}\t${t.sequence}`, t);
      else {
        this.s.handlerDown++;
        this.record({ ...t, status: "handler_down" }, null, 0);
      }
    }
  }

  /** The consumer does not flush during a stall fault or while a failure test holds it. */
  stalled(now: number) {
    return this.stalls.some((f) => within(f, now - this.s.startMs)) || !!this.options.control?.paused;
  }

  /** What the consumer can flush now, per exchange: what came out of the handlers, or what has arrived. */
  due(now: number): Map<Exchange, Trade[]> {
    const due = new Map<Exchange, Trade[]>();
    const add = (exchange: Exchange, trade: Trade) =>
      (due.get(exchange) ?? due.set(exchange, []).get(exchange)!).push(trade);
    if (this.options.conduits) {
      for (const e of EXCHANGES)
        for (const line of this.options.conduits.collect(e)) {
          const key = `${e}\t${line}`,
            t = this.viaHandler.get(key);
          if (!t) continue; // a line from before this run
          this.viaHandler.delete(key);
          add(e, t);
        }
    } else
      while (this.inFlight.size && this.inFlight.peek()!.receiveTs <= now) {
        const t = this.inFlight.pop()!;
        add(t.exchange, t);
      }
    return due;
  }

  /** Arrived at the consumer and not inserted: what a Kafka consumer group's lag counts. */
  measureBacklog() {
    for (const e of EXCHANGES) this.s.backlog[e] = this.pending.get(e)?.length ?? 0;
  }

  /** Trades that reached the consumer, and messages others produced into the topics (copies, inserted as they are). */
  arrive(due: Map<Exchange, Trade[]>) {
    const add = (exchange: Exchange, list: (Trade | string)[]) =>
      (this.pending.get(exchange) ?? this.pending.set(exchange, []).get(exchange)!).push(...list);
    for (const [e, list] of due) add(e, list);
    if (this.options.topics) for (const e of EXCHANGES) add(e, this.options.topics.produced(e));
  }

  /** The blocks due now: full ones at once, the rest when their table's flush interval has ended. */
  flushable(now: number): Map<Exchange, (Trade | string)[]> {
    const out = new Map<Exchange, (Trade | string)[]>();
    for (const e of EXCHANGES) {
      const block = this.pending.get(e) ?? [];
      const intervalOver = now - (this.lastFlush.get(e) ?? this.s.startMs) >= this.options.flushMs;
      if (intervalOver) this.lastFlush.set(e, now);
      if (!block.length || !(intervalOver || block.length >= this.maxBatch)) continue;
      // full blocks go now; a part-filled one waits for the interval
      const n = intervalOver ? block.length : block.length - (block.length % this.maxBatch);
      out.set(e, block.slice(0, n));
      this.pending.set(e, block.slice(n));
      this.lastFlush.set(e, now);
    }
    return out;
  }

  /**
   * One batch per exchange queue table per flush. The inserts go one after another: on the embedded engine
   * concurrent inserts contend for the same cores and each takes longer.
   */
  async insert(due: Map<Exchange, (Trade | string)[]>) {
    for (const [exchange, list] of due)
      batches: for (let i = 0; i < list.length; i += this.maxBatch) {
        const batch = list.slice(i, i + this.maxBatch),
          id = ++this.s.batches;
        const messages = batch.map((t) => {
          if (typeof t === "string") return { message: t };
          const off = (this.offsets.get(exchange) ?? 0) + 1;
          this.offsets.set(exchange, off);
          return { message: toMessage(t, off) };
        });
        const flushed = this.clock.now();
        if (!(await this.tryInsert(exchange, messages, list.slice(i)))) break batches;
        const rtt = this.clock.now() - flushed;
        // a record's timestamp is when it was produced: a trade's when its handler had it, a copy's by its read
        const produced = batch.map((t) => (typeof t === "string" ? flushed : t.receiveTs));
        this.options.topics?.append(
          exchange,
          messages.map((m, j) => ({ ts: produced[j]!, message: m.message })),
        );
        this.rttSum += rtt;
        this.s.insertRttMs.max = Math.max(this.s.insertRttMs.max, rtt);
        this.batchLog.push({ batch_id: id, exchange, rows: batch.length, started: utc(flushed), rtt_ms: rtt });
        const trades = batch.filter((t): t is Trade => typeof t !== "string");
        for (const t of trades) this.record(t, flushed, id);
        this.s.sent += trades.length;
        this.s.copies += batch.length - trades.length;
        this.s.perExchange[exchange].sent += trades.length;
      }
  }

  /**
   * The engine refusing an insert (a table detached, the server down) fails the batch as a Kafka engine's would: the
   * offsets are not committed and the same block is read again. The rest of this exchange's due list goes back.
   */
  private async tryInsert(
    exchange: Exchange,
    messages: { message: string }[],
    rest: (Trade | string)[],
  ): Promise<boolean> {
    try {
      await this.sink.insert(`${this.db}.${kafkaTableOf(exchange)}`, messages);
      this.refusing = false;
      return true;
    } catch {
      // a refused insert is the fault being injected (or the engine away): counted, retried on the next tick, and the
      // run's stats report failed inserts
      this.refusing = true;
      this.s.failedInserts++;
      this.s.batches--;
      this.pending.set(exchange, [...rest, ...(this.pending.get(exchange) ?? [])]);
      return false;
    }
  }

  /** Everything generated has been delivered or lost (handlers aside). */
  drained() {
    return !!this.next.done && this.inFlight.size === 0 && [...this.pending.values()].every((b) => !b.length);
  }

  record(trade: Trade, flushed: number | null, batch: number) {
    this.truth.push({
      exchange: trade.exchange,
      symbol: trade.symbol,
      sequence_number: trade.sequence,
      exchange_ts: utc(trade.exchangeTs),
      delay_ms: trade.delayMs,
      receive_ts: utc(trade.receiveTs),
      flushed_ts: flushed === null ? null : utc(flushed),
      batch_id: batch,
      status: trade.status,
    });
  }

  async flushTruth() {
    await this.sink.insert(`${this.truthDb}.sent`, this.truth);
    await this.sink.insert(`${this.truthDb}.batches`, this.batchLog);
    this.truth = [];
    this.batchLog = [];
    this.lastTruthFlush = this.clock.now();
  }
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
