// Wall-clock time with sub-millisecond resolution, for timestamps compared with another process's wall clock (the
// engine's now64() stamping processed_at). `performance.timeOrigin + performance.now()` is not that: the time origin
// is read once at start, and the monotonic clock behind now() does not advance while the machine is paused or when
// the wall clock is stepped, so a long-lived process drifts from the wall. On this kind of VM (Firecracker) a 5 s step
// in the middle of a lab run put every trade's measured lag 5 s outside the lab's own bounds (the latency ground-truth
// test, reproduced by stepping the clock with clock_settime).

/**
 * A clock reading `wall()` (Date.now: the wall, 1 ms steps) refined by `mono()` (performance.now: sub-ms, no steps).
 * It re-anchors whenever the two disagree by more than `toleranceMs`, so it never strays from the wall by more than
 * that plus one wall tick.
 */
export function wallAnchored(
  wall: () => number = Date.now,
  mono: () => number = () => performance.now(),
  toleranceMs = 1,
): () => number {
  let anchor = wall() - mono();
  return () => {
    const m = mono(),
      w = wall();
    // Date.now() floors to the millisecond: the refined time lies in [w, w + 1) when both clocks agree
    if (anchor + m < w - toleranceMs || anchor + m > w + 1 + toleranceMs) anchor = w - m;
    return anchor + m;
  };
}
