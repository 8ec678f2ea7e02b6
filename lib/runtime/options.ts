// Flag normalisers: each reads one parsed flag by name, turns it into its typed value, and
// names the flag and the bad value when it cannot (`invalid --window: "5x" ...`). Notebooks
// call them in their parse step, so every flag of a kind is read the same way.
import { usageError } from "./errors.ts";
import { parseDuration, parseNumber, parseRate } from "./units.ts";

export type Values = Record<string, string | boolean | undefined>;

const raw = (v: Values, name: string) => String(v[name] ?? "");

/** A duration flag in ms: `250ms`, `60s`, `5m`, `24h`, `3m20s`. */
export const duration = (v: Values, name: string) => parseDuration(raw(v, name), `--${name}`);

/** A message rate in msg/s: `50`, `250/s` or a multiple of the K2 baseline, `5x`. */
export const rate = (v: Values, name: string) => parseRate(raw(v, name), `--${name}`);

/** A number within bounds. */
export const number = (v: Values, name: string, min = -Infinity, max = Infinity) =>
  parseNumber(raw(v, name), `--${name}`, min, max);

/** An optional ISO time in epoch ms: `2026-02-19T09:00:00Z`; unset is undefined. */
export function isoTime(v: Values, name: string): number | undefined {
  if (!v[name]) return undefined;
  const ms = Date.parse(raw(v, name));
  if (Number.isNaN(ms))
    throw usageError(
      `invalid --${name}: ${JSON.stringify(v[name])} (expected an ISO time such as 2026-02-19T09:00:00Z)`,
    );
  return ms;
}

/** A comma-separated list, each item parsed by `item` (which names its own bad value); unset is empty. */
export const list = <T>(v: Values, name: string, item: (s: string) => T): T[] =>
  v[name]
    ? raw(v, name)
        .split(",")
        .map((s) => item(s.trim()))
    : [];
