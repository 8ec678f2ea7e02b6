// The measured values the runbooks and docs quote, read from each step's newest stored run: the live fire's time to
// fire per alert (step 4), each failure test's recovery (step 3), the burn-in's per-service resources (step 2), and
// step 1's per-segment latency and bottleneck. A step without a readable run gives nothing (its evidence says why).
import type { LiveFireRecord } from "../alerting/livefire/record.ts";
import { analyseBurnIn, type BurnInFetched } from "../burnin/summary.ts";
import type { FailureFetched, Result } from "../failure/summary.ts";
import { latencyFacts } from "../latency/facts.ts";
import type { LatencyFetched } from "../latency/summary.ts";
import type { Fetched } from "../runtime/store.ts";
import { openLatest } from "./evidence.ts";
import type { SignoffRecord } from "./summary.ts";

type Measured = Pick<
  SignoffRecord,
  "fired" | "stepThree" | "budgets" | "bottleneck" | "resources" | "segments" | "scenarios"
>;

// a step whose run cannot be read fills nothing here; the checklist's row for it says why (evidence.ts)
const orNull = <T>(p: Promise<T>) => p.catch(() => null);

export async function readMeasured(): Promise<Measured> {
  const [fire, failure, burnin, latency] = await Promise.all([
    openLatest<Fetched>("04-live-fire"),
    openLatest<FailureFetched>("03-failure-modes"),
    openLatest<BurnInFetched>("02-burn-in"),
    openLatest<LatencyFetched>("01-latency"),
  ]);
  const lf = fire && (await orNull(fire.json<LiveFireRecord>("livefire")));
  const where = lf?.mode === "live" ? `through ${lf.prometheus}` : "in the lab";
  const results = failure && (await orNull(failure.json<Result[]>("results")));
  const analysis = burnin && !burnin.manifest.noEngine ? await orNull(analyseBurnIn(burnin)) : null;
  const facts = latency && (await orNull(latencyFacts(latency)));
  const scenarios = facts?.summaries;
  return {
    fired: (lf?.results ?? []).map((x) => ({
      alert: x.alert,
      firingMs: x.firingMs,
      status: x.status,
      factor: lf!.factor,
      where: `${where}, run ${fire!.manifest.runId}`,
    })),
    stepThree: (results ?? []).map((r) => ({
      test: r.test,
      status: r.status,
      mttrFromStartMs: r.mttrFromStartMs,
      runId: failure!.manifest.runId,
      lostBy: r.loss ? Object.fromEntries(Object.entries(r.loss).map(([ex, l]) => [ex, l.lost])) : null,
      failed: r.checks.filter((c) => c.status === "FAIL").map((c) => c.name),
    })),
    budgets: (analysis?.results ?? []).map((r) => ({
      container: r.container,
      cpuP99: r.cpuP99,
      budgetCpu: r.budgetCpu,
      memMaxMb: r.memMaxMb,
      budgetMemMb: r.budgetMemMb,
      restarts: r.restarts,
    })),
    resources: analysis
      ? {
          runId: burnin!.manifest.runId,
          rows: analysis.results.map((r) => ({
            container: r.container,
            budgetCpu: r.budgetCpu,
            cpuP99: r.cpuP99,
            budgetMemMb: r.budgetMemMb,
            memMaxMb: r.memMaxMb,
            status: r.status,
          })),
        }
      : null,
    bottleneck: facts?.bottleneck ?? null,
    segments: facts
      ? {
          runId: latency!.manifest.runId,
          rows: facts.segments.map((x) => ({
            segment: x.segment,
            p99Ms: x.p99Ms ?? null,
            budgetMs: x.budgetMs,
            source: x.source,
            key: x.key,
            scenario: x.scenario,
          })),
        }
      : null,
    scenarios: scenarios ? { runId: latency!.manifest.runId, tuning: latency!.manifest.tuning, rows: scenarios } : null,
  };
}
