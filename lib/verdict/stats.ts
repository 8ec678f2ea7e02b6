// Statistics shared by the steps, pure. Imports nothing.

/**
 * ClickHouse's quantileExact: the element at floor(level * n) of the sorted values (clamped
 * to the last). Kept identical so that figures computed here match the engine's exactly.
 *   quantileExact([1, 2, 3, 4], 0.5) -> 3;  quantileExact(0..9, 0.99) -> 9
 */
export function quantileExact(sorted: ArrayLike<number>, level: number): number {
  if (!(level >= 0 && level <= 1)) throw new Error(`invalid quantile: ${level}`);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(level * sorted.length))]!;
}
