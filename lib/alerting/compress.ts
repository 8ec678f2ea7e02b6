// Time compression for live fire: the same expressions, with every time in them divided by a stated factor: `for`,
// range windows, and thresholds that are times (FeedHandlerDown's stale seconds, MVProcessingDelay's seconds,
// IcebergOffloadLag's minutes). Counts (consumer lag, failed runs) stay as they are. A window or a time threshold is
// never shorter than four scrapes: at 60x, FeedHandlerDown's 120 s would be 2 s, which one 2 s scrape and one
// evaluation already exceed on a healthy pipeline. Pure.
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
