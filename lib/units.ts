// Parsers for the values users type on the command line or in config. Each accepts a few
// forms and fails with a one-line error naming the flag, the value and an example.
import { usageError } from "./errors.ts";

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** "250ms", "60s", "5m", "24h", "1.5h", "90" (seconds) -> milliseconds */
export function parseDuration(value: string, what = "duration"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(value);
  if (!m) throw usageError(`invalid ${what}: ${JSON.stringify(value)} (expected e.g. 250ms, 60s, 5m, 24h)`);
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? "s"]!;
  if (!(ms > 0)) throw usageError(`invalid ${what}: ${JSON.stringify(value)} (must be greater than zero)`);
  return ms;
}

export const BASE_RATE = 50; // 1x = ~50 msg/s, the K2 baseline (FACTS.md)

/** "1x", "5x", "10x", "2.5x" (multiples of 50 msg/s) or "120" / "120/s" (msg/s) -> msg/s */
export function parseRate(value: string, what = "rate"): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(x|\/s|msg\/s)?\s*$/i.exec(value);
  if (!m) throw usageError(`invalid ${what}: ${JSON.stringify(value)} (expected e.g. 1x, 5x, 10x or 120/s)`);
  const n = Number(m[1]);
  const rate = m[2]?.toLowerCase() === "x" ? n * BASE_RATE : n;
  if (!(rate > 0) || rate > 100_000) throw usageError(`invalid ${what}: ${JSON.stringify(value)} (between 0 and 100000 msg/s)`);
  return rate;
}

export function parseNumber(value: string, what: string, min = -Infinity, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
    throw usageError(`invalid ${what}: ${JSON.stringify(value)} (expected a number${min > -Infinity ? ` >= ${min}` : ""}${max < Infinity ? ` <= ${max}` : ""})`);
  return n;
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
