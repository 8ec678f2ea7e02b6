// Time compression for live fire: the same expressions, with every time in them divided by a stated factor: `for`,
// range windows, and thresholds that are times (FeedHandlerDown's stale seconds, MVProcessingDelay's seconds,
// IcebergOffloadLag's minutes). Counts (consumer lag, failed runs) stay as they are. A window or a time threshold is
// never shorter than four scrapes: at 60x, FeedHandlerDown's 120 s would be 2 s, which one 2 s scrape and one
// evaluation already exceed on a healthy pipeline. Pure.
import { KAFKA_ENGINE } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import type { Alert } from "./rules.ts";

/** A range window or time threshold is never shorter than this many scrapes: rate() needs two samples in it. */
const MIN_WINDOW_SCRAPES = 4;

/** A time compressed: divided by the factor, but never under four scrapes. */
export const compressedMs = (ms: number, factor: number, scrapeMs: number) =>
  factor === 1 ? ms : Math.max(ms / factor, MIN_WINDOW_SCRAPES * scrapeMs);

export function compress(alert: Alert, factor: number, scrapeMs: number): Alert {
  if (factor === 1) return alert;
  const secs = (n: number, unit: string) => n * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[unit]!;
  // "[2m]" -> "[4s]" at 30x: windows shrink, but keep room for a few scrapes
  let condition = alert.condition.replace(
    /\[(\d+)([smh])\]/g,
    (_, n: string, u: string) => `[${Math.round(compressedMs(secs(Number(n), u) * 1000, factor, scrapeMs))}ms]`,
  );
  // the last "> N" is the threshold; a time threshold is divided, e.g. "> 120" (s) -> "> 4" at 30x
  const unitMs = alert.timeThreshold === "min" ? 60_000 : 1000;
  if (alert.timeThreshold)
    condition = condition.replace(
      /> (\d+(?:\.\d+)?)(?![\s\S]*> \d)/,
      (_, n: string) => `> ${round(compressedMs(Number(n) * unitMs, factor, scrapeMs) / unitMs)}`,
    );
  return { ...alert, condition, forMs: Math.round(alert.forMs / factor) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * The lab consumer's flush in a compressed live fire: K2's (7.5 s) shrunk as much as the time thresholds it competes
 * with are, not by the whole factor. The four-scrape floor makes FeedHandlerDown's 120 s 8 s at 60x with 2 s scrapes
 * (15x), and MVProcessingDelay's 30 s 8 s (3.75x): a 500 ms flush keeps K2's flush to threshold ratio or better.
 * A flush cut by the factor (7.5 s / 60 = 125 ms) cost more than a core of inserts on the embedded engine, and on a
 * loaded machine the consumer fell behind (CI, one core busy: ingestion delay 1.3-3.5 s and every newest trade
 * 14-15 s old at the baseline's start, so FeedHandlerDown fired in it).
 */
export function labFlushMs(factor: number, scrapeMs: number): number {
  const shrunk = [THRESHOLDS.feedStaleMs, THRESHOLDS.mvDelayMs].map((ms) => ms / compressedMs(ms, factor, scrapeMs));
  return Math.round(KAFKA_ENGINE.flushIntervalMs / Math.max(...shrunk));
}
