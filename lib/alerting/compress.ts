// Time compression for live fire: the same expressions, with every time in them divided by a stated factor: `for`,
// range windows, and thresholds that are times (FeedHandlerDown's stale seconds, MVProcessingDelay's seconds,
// IcebergOffloadLag's minutes). Counts (consumer lag, failed runs) stay as they are. Pure.
import type { Alert } from "./rules.ts";

/** A range window is never shorter than this many scrapes: rate() and delta() need two samples in it. */
const MIN_WINDOW_SCRAPES = 4;

export function compress(a: Alert, factor: number, scrapeMs: number): Alert {
  if (factor === 1) return a;
  const secs = (n: number, unit: string) => n * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[unit]!;
  // "[2m]" -> "[4s]" at 30x: windows shrink, but keep room for a few scrapes
  let condition = a.condition.replace(/\[(\d+)([smh])\]/g, (_, n: string, u: string) => {
    const s = Math.max(secs(Number(n), u) / factor, (MIN_WINDOW_SCRAPES * scrapeMs) / 1000);
    return `[${Math.round(s * 1000)}ms]`;
  });
  // the last "> N" is the threshold; a time threshold is divided, e.g. "> 120" -> "> 4"
  if (a.timeThreshold)
    condition = condition.replace(
      /> (\d+(?:\.\d+)?)(?![\s\S]*> \d)/,
      (_, n: string) => `> ${round(Number(n) / factor)}`,
    );
  return { ...a, condition, forMs: Math.round(a.forMs / factor) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
