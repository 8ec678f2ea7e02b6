// The live fire's verdict, pure: from the alert state changes the poller recorded (and the webhook's notices), when
// each alert pended, fired, was notified and resolved, its bound, and PASS or FAIL with the reason. No clock and no
// Prometheus: the runner (run.ts) records, this judges, and the tests judge plain arrays.
import type { FireResult } from "./record.ts";

export type AlertState = "pending" | "firing" | "inactive";
/** One change of an alert's state, as a poll of /api/v1/alerts first saw it (epoch ms). */
export type StateChange = { alert: string; state: AlertState; at: number };
/** One alert as the webhook received it. */
export type Notice = { alert: string; status: string; at: number };

/** When `alert` was first in one of `states` at or after `since`: `since` itself if it already was. */
export function firstIn(changes: StateChange[], alert: string, states: AlertState[], since: number): number | null {
  const last = changes.filter((c) => c.alert === alert && c.at <= since).at(-1);
  if (last && states.includes(last.state)) return since;
  return changes.find((c) => c.alert === alert && c.at >= since && states.includes(c.state))?.at ?? null;
}

/** Every alert that pended or fired during the baseline, once each, in order. */
export const baselineFired = (changes: StateChange[]) => [
  ...new Set(changes.filter((c) => c.state !== "inactive").map((c) => c.alert)),
];

export type BoundInput = {
  /** how long after the fault starts its condition holds, by construction */
  conditionAfterMs: number;
  /** when the lab's ground truth saw the condition hold, from the fault's start; null: not observed */
  heldAfterMs: number | null;
  /** after it held, how long until it shows in the metrics (an increase needs two scrapes around it) */
  showsAfterHoldMs: number;
  forMs: number;
  scrapeMs: number;
  evalMs: number;
  /** the poll's period: a state is seen up to one poll after it changes */
  pollMs: number;
  /** the slowest scrape during the fault: a sample counts from when its scrape ends */
  slowestScrapeMs: number;
};

/**
 * The time an alert may take to fire: until its condition holds (by construction, or when ground truth saw it), then
 * one scrape, one evaluation, `for` rounded up to whole evaluations (a rule fires at the first evaluation at least
 * `for` after it pended), one poll, and the slowest scrape.
 */
export function fireBound(input: BoundInput): number {
  const after = input.scrapeMs + input.evalMs + Math.ceil(input.forMs / input.evalMs) * input.evalMs + input.pollMs;
  const holds = input.heldAfterMs === null ? input.conditionAfterMs : input.heldAfterMs + input.showsAfterHoldMs;
  return holds + after + input.slowestScrapeMs;
}

export type FireObservation = {
  alert: string;
  fault: string;
  /** the fault's start (or, for an alert measured after another's clearing, that clearing) and its clearing */
  t0: number;
  t1: number;
  boundMs: number;
  changes: StateChange[];
  /** null: no webhook of ours (a stack's own Alertmanager notifies) */
  notices: Notice[] | null;
  /** when the runner stopped waiting for it to fire (and be notified): later changes do not count as firing */
  until: number;
  /** how long the runner would wait at most, from t0 */
  waitedMs: number;
  /** the expression's last value, when it never fired */
  lastValue: string;
  heldAfterMs: number | null;
  slowestScrapeMs: number;
};

/** "12.4 s", or "never" */
export const fmtS = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);

/**
 * Pending, firing, notified and resolved from the recorded changes; PASS when it fired within its bound, was heard,
 * and resolved.
 */
export function fireVerdict(observation: FireObservation): FireResult {
  const watched = observation.changes.filter((c) => c.at <= observation.until);
  const firing = firstIn(watched, observation.alert, ["firing"], observation.t0);
  const note =
    observation.notices?.find(
      (x) =>
        x.alert === observation.alert && x.status === "firing" && x.at >= observation.t0 && x.at <= observation.until,
    )?.at ?? null;
  const resolved = firstIn(
    observation.changes,
    observation.alert,
    ["inactive"],
    Math.max(observation.t1, firing ?? observation.t1),
  );
  const since = (at: number | null) => (at === null ? null : at - observation.t0);
  const r = {
    pendingMs: since(firstIn(watched, observation.alert, ["pending", "firing"], observation.t0)),
    firingMs: since(firing),
    notifiedMs: since(note),
    resolvedMs: resolved === null ? null : resolved - observation.t1,
  };
  const heard = !observation.notices || r.notifiedMs !== null;
  const ok = r.firingMs !== null && r.firingMs <= observation.boundMs && heard && r.resolvedMs !== null;
  const why =
    r.firingMs === null
      ? `never fired within ${fmtS(observation.waitedMs)}; its expression's last value: ${observation.lastValue}`
      : r.firingMs > observation.boundMs
        ? "fired after its bound"
        : !heard
          ? "fired, but no webhook arrived"
          : r.resolvedMs === null
            ? "did not resolve after clearing"
            : "fired within its bound, notified, resolved";
  const truth =
    (observation.heldAfterMs === null
      ? ""
      : ` (its condition held ${fmtS(observation.heldAfterMs)} after the fault, by the lab's count)`) +
    (observation.slowestScrapeMs
      ? `; the bound includes the slowest scrape, ${fmtS(observation.slowestScrapeMs)}`
      : "");
  return {
    alert: observation.alert,
    fault: observation.fault,
    boundMs: observation.boundMs,
    ...r,
    status: ok ? "PASS" : "FAIL",
    note: why + truth,
  };
}
