// Options declared once, with their normaliser, as Plot declares a channel with maybeX:
//   window: duration("5m", "measure the last window")
// parses `--window 90s` to 90000 and refuses `--window 5x` as `invalid --window: "5x" (...)`.
// The runtime parses every declared option before the notebook sees it, so a notebook's parse
// receives typed values (numbers, lists, booleans) and only assembles them.
import { usageError } from "./errors.ts";
import { parseDuration, parseNumber, parseRate } from "./units.ts";

/** A flag as parseArgs gives it. */
type Raw = string | boolean | undefined;
export type Values = Record<string, Raw>;

export type OptionSpec<T = unknown> = {
  type: "string" | "boolean";
  default?: string | boolean;
  help: string;
  /** what the value is called in --help, e.g. --window <time> */
  arg?: string;
  /** the flag's typed value; an error names the flag (`flag` is e.g. "--window") and the bad value */
  parse(raw: Raw, flag: string): T;
};
export type OptionSpecs = Record<string, OptionSpec>;
/** The typed values of a notebook's declared options. */
export type Parsed<S extends OptionSpecs> = { [K in keyof S]: ReturnType<S[K]["parse"]> };

/** Parse every declared option, in declaration order. */
export function parseOptions<S extends OptionSpecs>(specs: S, values: Values): Parsed<S> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, spec.parse(values[name], `--${name}`)]),
  ) as Parsed<S>;
}

/** An on/off flag; `--no-<name>` turns off one that defaults to on. */
export const flag = (help: string, dflt = false): OptionSpec<boolean> => ({
  type: "boolean",
  default: dflt || undefined,
  help,
  parse: (r) => r === true,
});

/** A string with a default. */
export const text = (dflt: string, help: string, arg = "value"): OptionSpec<string> => ({
  type: "string",
  default: dflt,
  arg,
  help,
  parse: (r) => String(r ?? dflt),
});

/** A string that may be left out. */
export const optionalText = (help: string, arg = "value"): OptionSpec<string | undefined> => ({
  type: "string",
  arg,
  help,
  parse: (r) => (r === undefined ? undefined : String(r)),
});

/** A duration in ms: `250ms`, `60s`, `5m`, `24h`, `3m20s`; with `zero`, also `0` (e.g. "do not replay"). */
export const duration = (dflt: string, help: string, o: { zero?: boolean } = {}): OptionSpec<number> => ({
  type: "string",
  default: dflt,
  arg: "time",
  help,
  parse: (r, f) => {
    const v = String(r ?? dflt);
    return o.zero && /^0+(s|ms|m)?$/.test(v) ? 0 : parseDuration(v, f);
  },
});

/** A message rate in msg/s: `50`, `250/s`, or a multiple of the K2 baseline, `5x`. */
export const rate = (dflt: string, help: string): OptionSpec<number> => ({
  type: "string",
  default: dflt,
  arg: "rate",
  help,
  parse: (r, f) => parseRate(String(r ?? dflt), f),
});

/** A number within bounds. */
export const number = (dflt: string, help: string, min = -Infinity, max = Infinity): OptionSpec<number> => ({
  type: "string",
  default: dflt,
  arg: "n",
  help,
  parse: (r, f) => parseNumber(String(r ?? dflt), f, min, max),
});

/** An optional ISO time in epoch ms: `2026-02-19T09:00:00Z`. */
export const isoTime = (help: string): OptionSpec<number | undefined> => ({
  type: "string",
  arg: "iso-time",
  help,
  parse: (r, f) => {
    if (r === undefined || r === "") return undefined;
    const ms = Date.parse(String(r));
    if (Number.isNaN(ms))
      throw usageError(`invalid ${f}: ${JSON.stringify(r)} (expected an ISO time such as 2026-02-19T09:00:00Z)`);
    return ms;
  },
});

/** A comma-separated list, each item parsed by `item` (which names its bad value); unset is the default or empty. */
export const list = <T>(item: (s: string, flag: string) => T, help: string, dflt?: string): OptionSpec<T[]> => ({
  type: "string",
  default: dflt,
  arg: "list",
  help,
  parse: (r, f) => {
    const v = r === undefined ? dflt : String(r);
    return v ? v.split(",").map((s) => item(s.trim(), f)) : [];
  },
});

/** Any other normaliser, checked once with the option: `custom(text(...), (s) => (parseDelay(s), s))`. */
export const custom = <A, T>(spec: OptionSpec<A>, then: (v: A, flag: string) => T): OptionSpec<T> => ({
  ...spec,
  parse: (r, f) => then(spec.parse(r, f), f),
});

/** One of a few words, as Plot's `keyword`: `keyword("generator", ["generator", "rpk"], ...)`; names a bad value. */
export const keyword = <K extends string>(dflt: K, choices: readonly K[], help: string): OptionSpec<K> => ({
  type: "string",
  default: dflt,
  arg: choices.join("|"),
  help,
  parse: (r, f) => {
    const v = r === undefined ? dflt : String(r);
    if (!(choices as readonly string[]).includes(v))
      throw usageError(`invalid ${f}: ${JSON.stringify(v)} (expected ${choices.join(" or ")})`);
    return v as K;
  },
});
