// The lab's market: a pure, seeded generator of trades for the three exchanges, with
// Poisson arrivals at a total rate, a drawn exchange-to-handler delay per trade, and the
// lab faults applied. No I/O and no clock: the replayer decides when to deliver.

import { SEQUENCE_SCOPE } from "../k2/stack.ts";
import { html, type SafeHtml } from "../report/html.ts";
import { usageError } from "../runtime/errors.ts";
import { durationSpec, parseDuration } from "../runtime/units.ts";
import { BASE_PRICE, baseAsset, EXCHANGE_SHARE, EXCHANGES, type Exchange, INSTRUMENTS } from "./instruments.ts";
import { type Delay, exponential, normal, seeded, weighted } from "./random.ts";

export type Trade = {
  exchange: Exchange;
  symbol: string;
  sequence: number;
  partition: number;
  exchangeTs: number; // ms since epoch, the exchange's clock (DateTime64(3))
  delayMs: number; // exchange -> handler, drawn from the delay distribution
  receiveTs: number; // exchangeTs + delayMs: when the handler has it
  price: number;
  quantity: number;
  status: "sent" | "dropped" | "silenced" | "handler_down";
};

/**
 * `fromFault`: timed from a step-3 test's fault, not the replay's start; `anchorMs` is that fault's offset in the
 * replay, set when the fault is applied (until then the lab fault is never in effect).
 */
type Timing = { atMs: number; forMs: number; fromFault?: boolean; anchorMs?: number };
export type Fault =
  | ({ kind: "silence"; exchange: Exchange } & Timing)
  | ({ kind: "drop"; exchange: Exchange; symbol?: string } & Timing)
  | ({ kind: "stall" } & Timing);

/**
 * Lab faults, offsets from the start of the run. Accepted forms:
 *   silence:binance@10s+3m        Binance delivers nothing from 10 s for 3 minutes
 *   drop:kraken@20s+5s            Kraken's handler loses every trade in that window (sequence gap)
 *   drop:kraken/XBT/USD@20s+5s    ... only for one symbol
 *   stall@30s+10s                 the consumer stops flushing for 10 s, then catches up
 *   drop:kraken@fault+3s          step 3: from each test's fault start, for 3 s (whatever the machine's speed)
 */
export function parseFault(spec: string): Fault {
  const m = /^(silence|drop|stall)(?::([a-z]+)(?:\/(.+?))?)?@(fault|[\d.]+\w*)\+([\d.]+\w*)$/.exec(spec.trim());
  const bad = (why: string) =>
    usageError(
      `invalid fault: ${JSON.stringify(spec)} (${why}; e.g. silence:binance@10s+3m, drop:kraken@20s+5s, stall@30s+10s)`,
    );
  if (!m) throw bad("unrecognised form");
  const [, kind, ex, symbol, at, dur] = m;
  const fromFault = at === "fault";
  const atMs = fromFault || /^0+(s|ms)?$/.test(at!) ? 0 : parseDuration(at!, "fault start");
  const timing = { atMs, forMs: parseDuration(dur!, "fault length"), ...(fromFault ? { fromFault } : {}) };
  if (kind === "stall") {
    if (ex) throw bad("stall takes no exchange");
    return { kind, ...timing };
  }
  if (!ex || !(EXCHANGES as readonly string[]).includes(ex)) throw bad(`unknown exchange ${JSON.stringify(ex ?? "")}`);
  if (symbol && !INSTRUMENTS[ex as Exchange].includes(symbol)) throw bad(`${ex} has no symbol ${symbol}`);
  if (kind === "silence") return { kind, exchange: ex as Exchange, ...timing };
  return { kind: "drop", exchange: ex as Exchange, symbol, ...timing };
}

/** A fault as it was typed, the inverse of parseFault: "silence:binance@10s+3m10s". */
export function formatFault(fault: Fault): string {
  const head =
    fault.kind === "stall"
      ? "stall"
      : `${fault.kind}:${fault.exchange}${fault.kind === "drop" && fault.symbol ? `/${fault.symbol}` : ""}`;
  return `${head}@${fault.fromFault ? "fault" : durationSpec(fault.atMs)}+${durationSpec(fault.forMs)}`;
}

/** Faults as the reports list them: `silence:binance@10s+3m10s`, comma-separated, each as code. */
export const faultsHtml = (faults: Fault[]): SafeHtml =>
  html`${faults.map((f, i) => html`${i ? ", " : ""}<code>${formatFault(f)}</code>`)}`;

/** Whether a lab fault is in effect at an offset into the replay (one timed from a test's fault: once anchored). */
export const within = (f: Timing, offsetMs: number) => {
  if (f.fromFault && f.anchorMs === undefined) return false;
  const at = f.atMs + (f.anchorMs ?? 0);
  return offsetMs >= at && offsetMs < at + f.forMs;
};

export type TrafficOptions = {
  ratePerSec: number;
  startMs: number;
  durationMs: number;
  seed: number;
  delay: Delay;
  faults?: Fault[];
  /** the rate now, read at each arrival (a load raises it for a while); ratePerSec when absent */
  rate?: () => number;
};

/** Trades in exchange-time order. Symbols within a venue follow a Zipf-like popularity. */
export function* generateTrades(options: TrafficOptions): Generator<Trade> {
  const rng = seeded(options.seed);
  const delayRng = seeded(options.seed ^ 0x9e3779b9);
  const shares = EXCHANGES.map((e) => EXCHANGE_SHARE[e]);
  const symbolWeights = Object.fromEntries(
    EXCHANGES.map((e) => [e, INSTRUMENTS[e].map((_, i) => 1 / (i + 1))]),
  ) as Record<Exchange, number[]>;
  const seq = new Map<string, number>();
  const seen = new Set<string>();
  const price = new Map<string, number>();
  const faults = options.faults ?? [];
  let t = 0;
  for (;;) {
    t += exponential(rng, 1000 / (options.rate?.() ?? options.ratePerSec));
    if (t >= options.durationMs) return;
    const exchange = EXCHANGES[weighted(rng, shares)]!;
    const si = weighted(rng, symbolWeights[exchange]);
    const symbol = INSTRUMENTS[exchange][si]!;
    const key = `${exchange}/${symbol}`;
    // Sequence numbers start at a seed-derived, venue-like large number and increase by one: per symbol, or across
    // the venue's products where it numbers per connection (Coinbase: SEQUENCE_SCOPE; one trade per message here).
    // A symbol's first trade draws its start either way, so that the seeded stream is the same for every rule.
    const start = seen.has(key) ? 0 : 1_000_000 + Math.floor(rng() * 1_000_000);
    seen.add(key);
    const run = SEQUENCE_SCOPE[exchange] === "connection" ? exchange : key;
    const sequence = (seq.get(run) ?? start) + 1;
    seq.set(run, sequence);
    const p = (price.get(key) ?? BASE_PRICE[baseAsset(exchange, symbol)]!) * Math.exp(0.0005 * normal(rng));
    price.set(key, p);
    const quantity = Math.max(1e-8, (500 / p) * Math.exp(normal(rng)));
    const delayMs = Math.max(0, options.delay.sample(delayRng));
    const exchangeTs = Math.floor(options.startMs + t);
    const hit = (k: Fault["kind"]) =>
      faults.some(
        (f) =>
          f.kind === k &&
          f.kind !== "stall" &&
          f.exchange === exchange &&
          (f.kind !== "drop" || !f.symbol || f.symbol === symbol) &&
          within(f, t),
      );
    const status = hit("silence") ? "silenced" : hit("drop") ? "dropped" : "sent";
    yield {
      exchange,
      symbol,
      sequence,
      partition: si % 3,
      exchangeTs,
      delayMs,
      receiveTs: exchangeTs + delayMs,
      price: p,
      quantity,
      status,
    };
  }
}

/** The message a feed handler would publish to market.crypto.trades.<exchange>.raw. */
export function toMessage(trade: Trade, offset: number): string {
  return JSON.stringify({
    exchange_timestamp: trade.exchangeTs,
    sequence_number: trade.sequence,
    symbol: trade.symbol,
    price: trade.price.toFixed(8),
    quantity: trade.quantity.toFixed(8),
    quote_volume: (trade.price * trade.quantity).toFixed(8),
    event_time: trade.exchangeTs,
    kafka_offset: offset,
    kafka_partition: trade.partition,
  });
}
