// The health check's stored run, typed: what its fetch stores and the verdict other steps read.

import type { Fault } from "../lab/traffic.ts";
import { type Fetched, type RunData, runIdentity } from "../runtime/store.ts";
import { type Status, type StepSummary, worst } from "../verdict/status.ts";
import type { Check } from "./verdict.ts";

/** The health precondition a step notebook records before measuring a stack. */
export type Precondition = { status: Status; summary: string } | { skipped: string };

export type HealthFetched = Fetched & {
  parameters: {
    window: string;
    stale: string;
    staleMs: number;
    deployment: string;
    prefectApi: string;
    lab: { replay: string; rate: number; faults: Fault[] } | null;
  };
  checkedAt: string;
  docker: { unreachable: string } | { host: string };
};

/** The overall verdict of a set of checks (INFO rows do not count). */
export const overallOf = (checks: Check[]): Status => worst(checks.filter((c) => c.status !== "INFO"));

export async function healthSummary(run: RunData<HealthFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const checks = await run.json<Check[]>("checks");
  const failing = checks.filter((c) => c.status === "FAIL").map((c) => `${c.check}: ${c.subject}`);
  return {
    ...runIdentity(m),
    status: overallOf(checks),
    headline: failing.length
      ? `${failing.length} of ${checks.length} checks fail: ${failing.join(", ")}`
      : `${checks.filter((c) => c.status === "PASS").length}/${checks.length} checks pass`,
  };
}

/** How a step report states its health precondition: a note's status and text. */
export function describePrecondition(p: Precondition | undefined): { status: Status; text: string } | null {
  if (!p) return null;
  if ("skipped" in p) return { status: "INFO", text: `Health precondition not run: ${p.skipped}.` };
  return { status: p.status, text: `Health precondition: ${p.summary}.` };
}
