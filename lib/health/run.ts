// The stack-health checks as one call, for 00-health and as every step notebook's
// precondition. Each component that is not configured or not reachable is SKIPPED with the
// reason; nothing is assumed.
import { sqlIdent, type Target } from "../io/clickhouse.ts";
import { type ContainerState, type DockerTarget, k2Containers } from "../io/docker.ts";
import { type FlowRun, recentRuns } from "../io/prefect.ts";
import { postgresWatermarks, type WatermarkSource, watermarkSource } from "../io/watermarks.ts";
import type { K2Config } from "../k2/config.ts";
import { discoverTradeTables, exchangeExpr, type Mapping } from "../k2/discovery.ts";
import { EXCHANGE_NAMES, OFFLOAD_DEPLOYMENT, SERVICES, type Service } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import type { Precondition } from "./summary.ts";
import {
  type Check,
  evaluateFlow,
  evaluatePrefect,
  evaluateServices,
  evaluateWatermarks,
  type FlowRow,
} from "./verdict.ts";

export type HealthOptions = {
  windowMs: number;
  staleMs: number;
  config: K2Config;
  expected?: Service[];
  exchanges?: readonly string[];
  prefectApiUrl: string;
  prefectDbUrl?: string;
  deployment?: string;
};
export type HealthData = {
  checks: Check[];
  containers: ContainerState[] | null;
  flow: FlowRow[] | null;
  watermarks: WatermarkSource | null;
  runs: FlowRun[] | null;
  silver: Mapping | null;
};

const skipped = (check: string, reason: string): Check => ({
  check,
  subject: "–",
  status: "SKIPPED",
  evidence: reason,
});

export async function gatherHealth(
  target: Target | { unreachable: string },
  docker: DockerTarget | { unreachable: string },
  options: HealthOptions,
  now = Date.now(),
): Promise<HealthData> {
  const data: HealthData = { checks: [], containers: null, flow: null, watermarks: null, runs: null, silver: null };

  // 1. Services (the brief's `docker compose ps`)
  if ("unreachable" in docker) data.checks.push(skipped("services", docker.unreachable));
  else {
    data.containers = await k2Containers(docker);
    data.checks.push(...evaluateServices(options.expected ?? SERVICES, data.containers, now));
  }

  // 2. Trades flowing (the brief's SELECT exchange, count(), max(ingestion_timestamp) ... GROUP BY exchange)
  // ClickHouse is the target the user named: not reaching it is a failure, not a skip.
  if ("unreachable" in target)
    data.checks.push({ check: "trades flowing", subject: "–", status: "FAIL", evidence: target.unreachable });
  else {
    const mappings = await discoverTradeTables(target, target.database, options.config);
    data.silver = mappings.find((m) => m.layer === "silver") ?? mappings[0]!;
    data.flow = await target.query<FlowRow>(flowSql(data.silver, options.windowMs));
    data.checks.push(
      ...evaluateFlow(data.flow, options.exchanges ?? EXCHANGE_NAMES, options.staleMs, options.windowMs),
    );
  }

  // 3. Offload watermarks: from the store being written (ClickHouse's and the Prefect DB's both read when both exist)
  try {
    data.watermarks =
      "unreachable" in target
        ? options.prefectDbUrl
          ? await postgresWatermarks(options.prefectDbUrl)
          : null
        : await watermarkSource(target, target.database, options.prefectDbUrl);
    if (data.watermarks) {
      const w = data.watermarks;
      const source = w.why ? `${w.source} (${w.why})` : w.source;
      data.checks.push(...evaluateWatermarks(w.rows, source, now, THRESHOLDS.offloadIntervalMs));
    } else
      data.checks.push(
        skipped(
          "offload watermarks",
          `no offload_watermarks table in ` +
            `ClickHouse${options.prefectDbUrl ? " or in the Prefect DB" : " and PREFECT_DB_URL is not set"}`,
        ),
      );
  } catch (e) {
    if (!(e instanceof K2Error)) throw e;
    data.checks.push(
      e.exitCode === EXIT.unreachable
        ? skipped("offload watermarks", e.message)
        : { check: "offload watermarks", subject: "–", status: "FAIL", evidence: e.message },
    );
  }

  // 4. Prefect schedule
  const deployment = options.deployment ?? OFFLOAD_DEPLOYMENT;
  try {
    data.runs = await recentRuns(options.prefectApiUrl, deployment);
    data.checks.push(evaluatePrefect(data.runs, deployment, now, THRESHOLDS.offloadIntervalMs));
  } catch (e) {
    if (!(e instanceof K2Error)) throw e;
    data.checks.push(skipped("prefect schedule", e.message));
  }
  return data;
}

/** Rows and the newest ingestion time per exchange in the window, aged by the server's clock. */
function flowSql(mapping: Mapping, windowMs: number): string {
  const ing = sqlIdent(mapping.ingestionTime.column);
  return (
    `SELECT ${exchangeExpr(mapping)} AS exchange, count() AS rows, ` +
    `dateDiff('millisecond', max(${ing}), now64(3)) AS
    newest_age_ms
    FROM ${mapping.table} WHERE ${ing} > now() - INTERVAL ${Math.ceil(windowMs / 1000)} SECOND ` +
    `GROUP BY exchange ORDER BY
      exchange`
  );
}

/** Trades per exchange per 10 s over the window, for the freshness figure (seconds before now). */
export function flowSeriesSql(mapping: Mapping, windowMs: number): string {
  const ing = sqlIdent(mapping.ingestionTime.column);
  return (
    `SELECT ${exchangeExpr(mapping)} AS exchange, ` +
    `intDiv(dateDiff('second', ${ing}, now()), 10) * 10 AS seconds_ago,
    count() AS trades
    FROM ${mapping.table} WHERE ${ing} > now() - INTERVAL ${Math.ceil(windowMs / 1000)} SECOND GROUP BY exchange,
      seconds_ago ORDER BY exchange, seconds_ago`
  );
}

/**
 * The step notebooks' precondition on a stack: run the health checks and refuse to measure
 * an unhealthy stack (naming what failed), unless the user skips it, which the report states.
 */
export async function requireHealthy(
  target: Target,
  skip: boolean,
  config: K2Config,
  env = process.env,
): Promise<Precondition> {
  if (skip) return { skipped: "--skip-health was given" };
  const { probeDocker } = await import("../io/docker.ts");
  const { prefectUrl } = await import("../io/prefect.ts");
  const h = await gatherHealth(target, await probeDocker(env), {
    windowMs: THRESHOLDS.healthWindowMs,
    staleMs: THRESHOLDS.feedStaleMs,
    config,
    prefectApiUrl: prefectUrl(env),
    prefectDbUrl: env.PREFECT_DB_URL || undefined,
  });
  const failed = h.checks.filter((c) => c.status === "FAIL");
  if (failed.length)
    throw new K2Error(
      `the stack is not healthy (${failed
        .slice(0, 3)
        .map((c) => `${c.check}: ${c.subject} ${c.evidence}`)
        .join("; ")}): fix it, or pass --skip-health to measure anyway`,
      EXIT.gate,
    );
  const counts = ["PASS", "WARN", "SKIPPED"]
    .map((s) => `${h.checks.filter((c) => c.status === s).length} ${s.toLowerCase()}`)
    .join(", ");
  return {
    status: h.checks.some((c) => c.status === "WARN") ? "WARN" : "PASS",
    summary: `health checks before measuring: ${counts}`,
  };
}
