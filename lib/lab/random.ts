// Seeded randomness for the lab: the same seed gives the same trades, delays and faults,
// so tests are deterministic and a report can be reproduced exactly.
import { usageError } from "../runtime/errors.ts";
import { custom, text } from "../runtime/options.ts";
import { parseDuration } from "../runtime/units.ts";

export type Rng = () => number; // uniform in [0, 1)

/** mulberry32: small, fast, good enough for simulation (not for cryptography). */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const exponential = (rng: Rng, mean: number) => -Math.log(1 - rng()) * mean;
export function normal(rng: Rng): number {
  const u = 1 - rng(),
    v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Pick an index with probability proportional to weights[i]. */
export function weighted(rng: Rng, weights: number[]): number {
  const total = weights.reduce((a, b) => a + b, 0);
  let x = rng() * total;
  for (let i = 0; i < weights.length; i++) if ((x -= weights[i]!) < 0) return i;
  return weights.length - 1;
}

export type Delay = { spec: string; sample(rng: Rng): number };

/**
 * An exchange-to-handler delay distribution, in milliseconds. Accepted forms:
 *   fixed:5ms                     always 5 ms
 *   uniform:5ms-50ms              uniform between the two
 *   exp:10ms                      exponential with mean 10 ms
 *   lognormal:40ms,0.5            lognormal with median 40 ms and sigma 0.5 (of ln ms)
 *   lognormal:median=40ms,sigma=0.5   the same, spelled out
 */
/** A delay distribution flag: checked when parsed, kept as the user wrote it (reports show it so). */
export const delayOption = (dflt: string, help: string) =>
  custom(text(dflt, help, "dist"), (d) => {
    parseDelay(d);
    return d;
  });

export function parseDelay(spec: string): Delay {
  const bad = (why: string) =>
    usageError(`invalid delay: ${JSON.stringify(spec)} (${why}; e.g. lognormal:40ms,0.5 or fixed:5ms)`);
  const [kind, rest = ""] = spec.split(":", 2) as [string, string?];
  const args = rest
    .split(",")
    .map((a) => a.replace(/^\w+=/, "").trim())
    .filter(Boolean);
  const ms = (v: string | undefined, what: string) => {
    if (v === undefined) throw bad(`missing ${what}`);
    if (/^0+(ms|s)?$/.test(v)) return 0;
    return parseDuration(v, `delay ${what}`);
  };
  switch (kind) {
    case "fixed": {
      const d = ms(args[0], "value");
      return { spec, sample: () => d };
    }
    case "uniform": {
      const [a, b] = rest.split("-").map((v) => ms(v.trim(), "bound"));
      if (a === undefined || b === undefined || b < a) throw bad("expected low-high");
      return { spec, sample: (rng) => a + rng() * (b - a) };
    }
    case "exp": {
      const mean = ms(args[0], "mean");
      return { spec, sample: (rng) => exponential(rng, mean) };
    }
    case "lognormal": {
      const median = ms(args[0], "median");
      const sigma = Number(args[1] ?? "0.5");
      if (!(sigma > 0 && sigma < 5)) throw bad(`sigma ${args[1]} out of range (0, 5)`);
      const mu = Math.log(median);
      return { spec, sample: (rng) => Math.exp(mu + sigma * normal(rng)) };
    }
    default:
      throw bad(`unknown distribution ${JSON.stringify(kind)}`);
  }
}
