// Keep figures flat in size and render time as data grows: series longer than `max`
// points are reduced to the min and max of each bucket (peaks survive, which averaging
// would hide). Histograms and quantiles are computed by the engine, not here.
export function minMaxBuckets<T>(rows: T[], x: (r: T) => number, y: (r: T) => number, max = 1000): T[] {
  if (rows.length <= max) return rows;
  const buckets = Math.max(1, Math.floor(max / 2));
  const size = rows.length / buckets;
  const out: T[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor(b * size),
      to = Math.min(rows.length, Math.floor((b + 1) * size));
    let lo = from,
      hi = from;
    for (let i = from; i < to; i++) {
      if (y(rows[i]!) < y(rows[lo]!)) lo = i;
      if (y(rows[i]!) > y(rows[hi]!)) hi = i;
    }
    // keep x order within the bucket
    if (lo === hi) out.push(rows[lo]!);
    else out.push(...(x(rows[lo]!) <= x(rows[hi]!) ? [rows[lo]!, rows[hi]!] : [rows[hi]!, rows[lo]!]));
  }
  return out;
}
