// Health verdicts, pure: container states, per-exchange freshness, watermark ages and
// Prefect runs in; one row per check with PASS/WARN/FAIL and the evidence out.

import type { ContainerState } from "../io/docker.ts";
import type { FlowRun } from "../io/prefect.ts";
import type { Watermark } from "../io/watermarks.ts";
import type { Service } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { formatDuration } from "../runtime/units.ts";
import type { Status } from "../verdict/status.ts";

export type Check = { check: string; subject: string; status: Status; evidence: string };

export function evaluateServices(expected: Service[], found: ContainerState[], now: number): Check[] {
  const byName = new Map(found.map((c) => [c.name, c]));
  const checks: Check[] = expected.map((s) => {
    const c = byName.get(s.container);
    const row = (status: Status, evidence: string): Check => ({
      check: "services",
      subject: s.container,
      status,
      evidence,
    });
    if (!c) return row("FAIL", "not found");
    const up = c.startedAt ? formatDuration(now - Date.parse(c.startedAt)) : "?";
    const restarts = c.restartCount ? `, ${c.restartCount} restarts` : "";
    if (s.oneShot) {
      if (c.state === "exited") return row(c.exitCode === 0 ? "PASS" : "FAIL", `one-shot, exited ${c.exitCode}`);
      return row("PASS", `one-shot, ${c.state}`);
    }
    if (c.state !== "running")
      return row(
        "FAIL",
        `${c.state}${c.exitCode !== null ? ` (exit ${c.exitCode}${c.oomKilled ? ", OOM killed" : ""})` : ""}` +
          restarts,
      );
    if (c.health === "unhealthy") return row("FAIL", `running, unhealthy${restarts}`);
    if (c.health === "starting") return row("WARN", `running, health starting, up ${up}`);
    if (c.restartCount > 0 || c.oomKilled)
      return row(
        "WARN",
        `running${c.health ? `, ${c.health}` : ""}, up ${up}${restarts}${c.oomKilled ? ", OOM killed before" : ""}`,
      );
    return row("PASS", `running${c.health ? `, ${c.health}` : ""}, up ${up}`);
  });
  const known = new Set(expected.map((s) => s.container));
  for (const c of found)
    if (!known.has(c.name))
      checks.push({
        check: "services",
        subject: c.name,
        status: "INFO",
        evidence: `not in the expected set (${c.state})`,
      });
  return checks;
}

export type FlowRow = { exchange: string; rows: number; newest_age_ms: number | null };

/** The FeedHandlerDown rule: an exchange with no trade in the last `staleMs` fails. */
export function evaluateFlow(
  rows: FlowRow[],
  exchanges: readonly string[],
  staleMs: number,
  windowMs: number,
): Check[] {
  return exchanges.map((e) => {
    const r = rows.find((x) => x.exchange === e);
    const row = (status: Status, evidence: string): Check => ({
      check: "trades flowing",
      subject: e,
      status,
      evidence,
    });
    if (!r || !r.rows || r.newest_age_ms === null)
      return row("FAIL", `no trades in the last ${formatDuration(windowMs)}`);
    const age = Number(r.newest_age_ms);
    const evidence =
      `${Number(r.rows).toLocaleString("en-US")} trades in ${formatDuration(windowMs)}, newest ` +
      `${formatDuration(Math.max(0, age))} ago`;
    return row(
      age > staleMs ? "FAIL" : "PASS",
      age > staleMs ? `${evidence} (stale beyond ${formatDuration(staleMs)})` : evidence,
    );
  });
}

/** Offload runs every `intervalMs`: the newest watermark should be younger than one interval plus grace. */
export function evaluateWatermarks(
  rows: Watermark[],
  source: string,
  now: number,
  intervalMs: number,
  graceMs = THRESHOLDS.scheduleGraceMs,
): Check[] {
  if (!rows.length)
    return [{ check: "offload watermarks", subject: source, status: "FAIL", evidence: "table holds no watermark" }];
  return rows.map((w) => {
    // freshness is the last successful run; the watermark (the newest data time offloaded, for gold a window start)
    // is shown beside it, as information
    const age = now - (w.lastSuccessMs ?? w.watermarkMs);
    const extra = [
      w.lastSuccessMs ? `data up to ${formatDuration(Math.max(0, now - w.watermarkMs))} ago` : "",
      w.status ? `status ${w.status}` : "",
      w.failures ? `${w.failures} failures` : "",
    ]
      .filter(Boolean)
      .join(", ");
    const what = w.lastSuccessMs ? "last successful run" : "newest";
    const evidence = `${source}: ${what} ${formatDuration(Math.max(0, age))} ago${extra ? `, ${extra}` : ""}`;
    const status: Status = age <= intervalMs + graceMs ? "PASS" : age <= 2 * intervalMs + graceMs ? "WARN" : "FAIL";
    return {
      check: "offload watermarks",
      subject: w.table,
      status,
      evidence: status === "PASS" ? evidence : `${evidence} (schedule every ${formatDuration(intervalMs)})`,
    };
  });
}

/**
 * Recent runs of the offload deployment, newest first: a fresh COMPLETED passes; more than
 * THRESHOLDS.offloadFailedRunsAbove (2) failures in a row fail, as IcebergOffloadFailure fires; fewer warn.
 */
export function evaluatePrefect(
  runs: FlowRun[],
  deployment: string,
  now: number,
  intervalMs: number,
  graceMs = THRESHOLDS.scheduleGraceMs,
): Check {
  const row = (status: Status, evidence: string): Check => ({
    check: "prefect schedule",
    subject: deployment,
    status,
    evidence,
  });
  if (!runs.length) return row("FAIL", "no runs found for the deployment");
  const finished = runs.filter((r) => ["COMPLETED", "FAILED", "CRASHED"].includes(r.state_type));
  let failedInARow = 0;
  for (const r of finished)
    if (r.state_type === "COMPLETED") break;
    else failedInARow++;
  const lastOk = finished.find((r) => r.state_type === "COMPLETED");
  const okAge = lastOk
    ? now - Date.parse(lastOk.end_time ?? lastOk.start_time ?? lastOk.expected_start_time ?? "")
    : Infinity;
  const states = runs
    .slice(0, 5)
    .map((r) => r.state_name ?? r.state_type)
    .join(", ");
  const evidence =
    `last ${Math.min(5, runs.length)}: ${states}; last COMPLETED ` +
    `${Number.isFinite(okAge) ? `${formatDuration(okAge)} ago` : "never"}`;
  if (failedInARow > THRESHOLDS.offloadFailedRunsAbove)
    return row("FAIL", `${evidence}; ${failedInARow} failed in a row`);
  if (failedInARow > 0 || okAge > intervalMs + graceMs)
    return row(okAge > 2 * intervalMs + graceMs ? "FAIL" : "WARN", evidence);
  return row("PASS", evidence);
}
