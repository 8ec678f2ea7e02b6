// A robust memory trend: the Theil–Sen slope (median of pairwise slopes) with Sen's
// confidence interval from Kendall's S. Outliers and sawtooth GC patterns move it little,
// and a noisy flat series gets an interval that spans zero: noise does not make a leak.
export type Point = { t: number; y: number }; // t in hours, y in MB
export type Trend = { slope: number; low: number; high: number; n: number };

export function theilSen(points: Point[], z = 1.96, maxPairs = 200_000): Trend | null {
  const n = points.length;
  if (n < 3) return null;
  // Thin very long series evenly so the pair count stays bounded (24 h at 5 min is 288 points, 41k pairs).
  const step = Math.max(1, Math.ceil(Math.sqrt((n * (n - 1)) / 2 / maxPairs)));
  const p = points.filter((_, i) => i % step === 0);
  const slopes: number[] = [];
  for (let i = 0; i < p.length; i++)
    for (let j = i + 1; j < p.length; j++)
      if (p[j]!.t !== p[i]!.t) slopes.push((p[j]!.y - p[i]!.y) / (p[j]!.t - p[i]!.t));
  if (!slopes.length) return null;
  slopes.sort((a, b) => a - b);
  const N = slopes.length,
    m = p.length;
  const median = N % 2 ? slopes[(N - 1) / 2]! : (slopes[N / 2 - 1]! + slopes[N / 2]!) / 2;
  // Sen (1968): ranks of the interval ends from the variance of Kendall's S (no ties correction).
  const c = z * Math.sqrt((m * (m - 1) * (2 * m + 5)) / 18);
  const lo = Math.max(0, Math.floor((N - c) / 2)),
    hi = Math.min(N - 1, Math.ceil((N + c) / 2));
  return { slope: median, low: slopes[lo]!, high: slopes[hi]!, n: m };
}

/**
 * Leak: memory rising with confidence (the interval's low end above `minMbPerHour`). The
 * floor keeps a real but trivial creep (a cache warming) from being called a leak.
 */
export function leakVerdict(t: Trend | null, minMbPerHour: number): "LEAK" | "FLAT" | "UNKNOWN" {
  if (!t) return "UNKNOWN";
  return t.low > minMbPerHour ? "LEAK" : "FLAT";
}
