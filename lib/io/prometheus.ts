// Prometheus over its HTTP API (rules, targets, instant queries), and Debian's prometheus started on loopback in a
// temporary folder for the code and tests that need a real one. Every call is bounded in time; an unreachable
// Prometheus is one line with exit 3.
import { join } from "node:path";
import { parse } from "yaml";
import { EXIT, firstLine, K2Error } from "../runtime/errors.ts";
import { parseDuration } from "../runtime/units.ts";
import { type RunningDaemon, startDaemon } from "./daemon.ts";

type ConfigYaml = { global?: { scrape_interval?: string; evaluation_interval?: string } } | null;

const DEFAULT_PROMETHEUS_URL = "http://localhost:9090";

type PromRule = {
  name: string;
  type: "alerting" | "recording";
  query: string;
  health: string;
  lastError?: string;
  state?: string;
  /** the rule's `for`, in seconds */
  duration?: number;
  file: string;
};
type PromTarget = {
  job: string;
  instance: string;
  scrapeUrl: string;
  health: "up" | "down" | "unknown";
  lastError: string;
};
type PromSeries = Record<string, string>;

/** The small interface the audit takes: tests and notebooks pass a live Prometheus. */
export type PromApi = {
  url: string;
  version: string;
  rules(): Promise<PromRule[]>;
  targets(): Promise<PromTarget[]>;
  /** the series of one metric at this instant (a stale target's are gone) */
  series(metric: string): Promise<PromSeries[]>;
  query(promql: string): Promise<{ metric: PromSeries; value: [number, string] }[]>;
  /** the alerts pending or firing now, as the rule manager holds them */
  alerts(): Promise<{ labels: PromSeries; state: "pending" | "firing"; activeAt: string }[]>;
  /** the global scrape and evaluation intervals of its loaded configuration */
  intervals(): Promise<{ scrapeMs: number; evalMs: number }>;
  /** a range query: each series' [seconds, value] points */
  range(
    promql: string,
    fromMs: number,
    toMs: number,
    stepMs: number,
  ): Promise<{ metric: PromSeries; values: [number, string][] }[]>;
};

export function prometheusUrlFromEnv(env: Record<string, string | undefined> = process.env) {
  const url = env.PROMETHEUS_URL?.trim();
  if (url && !/^https?:\/\/[^\s/]+/.test(url))
    throw new K2Error(`invalid PROMETHEUS_URL: ${JSON.stringify(url)} (expected http://host:9090)`, EXIT.usage);
  return { url: (url || DEFAULT_PROMETHEUS_URL).replace(/\/$/, ""), explicit: !!url };
}

export async function connectPrometheus(url: string, timeoutMs = 5000): Promise<PromApi> {
  const get = async <T>(path: string): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new K2Error(
        `Prometheus not reachable at ${url} (${firstLine(e)}): start it or set PROMETHEUS_URL`,
        EXIT.unreachable,
      );
    }
    // a body that is not JSON is not Prometheus's API: said in the error below
    const body = (await res.json().catch(() => null)) as { status?: string; data?: T; error?: string } | null;
    if (!res.ok || body?.status !== "success")
      throw new K2Error(
        `Prometheus at ${url} answered ${res.status} to ${path}: ${body?.error ?? "not its API"}`,
        EXIT.data,
      );
    return body.data as T;
  };
  const build = await get<{ version: string }>("/api/v1/status/buildinfo");
  return {
    url,
    version: build.version,
    async rules() {
      const d = await get<{ groups: { file: string; rules: Omit<PromRule, "file">[] }[] }>("/api/v1/rules");
      return d.groups.flatMap((g) => g.rules.map((r) => ({ ...r, file: g.file })));
    },
    async targets() {
      const d = await get<{
        activeTargets: { labels: PromSeries; scrapeUrl: string; health: string; lastError: string }[];
      }>("/api/v1/targets?state=active");
      return d.activeTargets.map((t) => ({
        job: t.labels.job ?? "",
        instance: t.labels.instance ?? "",
        scrapeUrl: t.scrapeUrl,
        health: t.health as PromTarget["health"],
        lastError: t.lastError,
      }));
    },
    async series(metric) {
      const d = await get<{ result: { metric: PromSeries }[] }>(
        `/api/v1/query?query=${encodeURIComponent(`{__name__=${JSON.stringify(metric)}}`)}`,
      );
      return d.result.map((r) => r.metric);
    },
    async alerts() {
      return (
        await get<{ alerts: { labels: PromSeries; state: "pending" | "firing"; activeAt: string }[] }>("/api/v1/alerts")
      ).alerts;
    },
    async intervals() {
      // "global:\n  scrape_interval: 15s\n  evaluation_interval: 1m\n" (Prometheus writes its defaults in, 1m each)
      const g = (parse((await get<{ yaml: string }>("/api/v1/status/config")).yaml) as ConfigYaml)?.global ?? {};
      const ms = (v: string | undefined) => parseDuration(v ?? "1m", "Prometheus interval");
      return { scrapeMs: ms(g.scrape_interval), evalMs: ms(g.evaluation_interval) };
    },
    async range(promql, fromMs, toMs, stepMs) {
      const q = new URLSearchParams({
        query: promql,
        start: String(fromMs / 1000),
        end: String(toMs / 1000),
        step: `${Math.max(1, Math.round(stepMs / 1000))}s`,
      });
      return (await get<{ result: { metric: PromSeries; values: [number, string][] }[] }>(`/api/v1/query_range?${q}`))
        .result;
    },
    async query(promql) {
      const d = await get<{ result: { metric: PromSeries; value: [number, string] }[] }>(
        `/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      return d.result;
    },
  };
}

export type RunningPrometheus = RunningDaemon;

/**
 * Debian's prometheus on 127.0.0.1 with `config` (YAML text) and any files beside it (rule files), in a temporary
 * folder removed at stop. Waits until it is ready.
 */
export function startPrometheus(config: string, files: Record<string, string> = {}): Promise<RunningPrometheus> {
  return startDaemon({
    name: "prometheus",
    need: "prometheus",
    files: { "prometheus.yml": config, ...files },
    args: (dir, port) => [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-lifecycle",
    ],
  });
}

/** The alerts that fired between two times, each with when it first fired: the ALERTS series, at most 1000 steps. */
export async function alertsFired(
  api: PromApi,
  fromMs: number,
  toMs: number,
): Promise<{ alert: string; firstMs: number }[]> {
  const stepMs = Math.max(1000, (toMs - fromMs) / 1000);
  const series = await api.range('ALERTS{alertstate="firing"}', fromMs, toMs, stepMs);
  const first = new Map<string, number>();
  for (const s of series) {
    const t = s.values.length ? s.values[0]![0] * 1000 : null;
    const name = s.metric.alertname ?? "";
    if (t !== null && (!first.has(name) || t < first.get(name)!)) first.set(name, t);
  }
  return [...first].map(([alert, firstMs]) => ({ alert, firstMs })).sort((a, b) => a.firstMs - b.firstMs);
}
