// Parsers for the values users type on the command line or in config. Each accepts a few
// forms and fails with a one-line error naming the flag, the value and an example.
import { usageError } from "./errors.ts";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration in milliseconds. Accepted forms:
 *   250ms  60s  5m  5min  24h  1d  1.5h    one number and unit
 *   90                                    seconds
 *   3m20s  1h30m  1m0.5s                  several, largest unit first
 */
export function parseDuration(value: string, what = "duration"): number {
  const bad = (why: string) => usageError(`invalid ${what}: ${JSON.stringify(value)} (${why})`);
  const text = value.trim();
  let ms = 0;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    // "ms" and "min" before "m", so that 250ms and 5min are not read as minutes
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)\s*(ms|min|s|m|h|d)\s*/gy)];
    if (!parts.length || parts.map((p) => p[0]).join("") !== text)
      throw bad("expected e.g. 250ms, 60s, 5m, 3m20s, 24h"); // all of it, nothing left over
    const sizes = parts.map((p) => DURATION_UNITS[p[2]!]!);
    if (sizes.some((u, i) => i > 0 && u >= sizes[i - 1]!))
      throw bad("units must go from largest to smallest, each once, e.g. 1h30m");
    ms = parts.reduce((a, p) => a + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
  }
  if (!(ms > 0)) throw bad("must be greater than zero");
  return ms;
}

export const BASE_RATE = 50; // 1x = ~50 msg/s, the K2 baseline (FACTS.md)

/** "1x", "5x", "10x", "2.5x" (multiples of 50 msg/s) or "120" / "120/s" (msg/s) -> msg/s */
export function parseRate(value: string, what = "rate"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(x|\/s|msg\/s)?\s*$/i.exec(value);
  if (!m) throw usageError(`invalid ${what}: ${JSON.stringify(value)} (expected e.g. 1x, 5x, 10x or 120/s)`);
  const n = Number(m[1]);
  const rate = m[2]?.toLowerCase() === "x" ? n * BASE_RATE : n;
  if (!(rate > 0) || rate > 100_000)
    throw usageError(`invalid ${what}: ${JSON.stringify(value)} (between 0 and 100000 msg/s)`);
  return rate;
}

export function parseNumber(value: string, what: string, min = -Infinity, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
    throw usageError(
      `invalid ${what}: ${JSON.stringify(value)} (expected a ` +
        `number${min > -Infinity ? ` >= ${min}` : ""}${max < Infinity ? ` <= ${max}` : ""})`,
    );
  return n;
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** A duration as it is typed, the inverse of parseDuration: 190000 -> "3m10s", 250 -> "250ms", 0 -> "0s". */
export function durationSpec(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    if (rest >= size) parts.push(`${Math.floor(rest / size)}${unit}`);
    rest %= size;
  }
  return parts.join("") || "0s";
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
