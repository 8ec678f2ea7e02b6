// Can the alerts fire? For each alert the chain alert -> metric -> scrape job -> target, judged from what a live
// Prometheus says (its rules, targets and current series) or from a platform checkout's files; the first broken link
// is named with its fix from the catalog. Pure: the facts come in as data.
import type { Status } from "../verdict/status.ts";
import { COMPONENTS, type ComponentId, metricByName } from "./catalog.ts";
import { metricsOf } from "./dashboard.ts";
import { ALERTS, type Alert } from "./rules.ts";

type Link = "rule" | "metric" | "job" | "target";
export type Broken = { link: Link; what: string; fix: string };
/** An alert's chain: the links that hold, and every broken one (the first is where it breaks). */
export type ChainRow = { alert: string; status: Status; chain: string[]; broken: Broken[] };
export type AuditFinding = { where: string; problem: string; fix: string };

type LiveRule = { name: string; type: string; query: string; health: string; lastError?: string; file: string };
type LiveTarget = { job: string; instance: string; scrapeUrl: string; health: string; lastError: string };
/** What a Prometheus said, stored with the run: rules, active targets, and the current series of every metric named. */
export type LiveFacts = {
  url: string;
  version: string;
  rules: LiveRule[];
  targets: LiveTarget[];
  series: Record<string, Record<string, string>[]>;
};

/** The rules folder mount every fix for an unloaded rule names. */
export const RULES_MOUNT = "./docker/prometheus/rules:/etc/prometheus/rules:ro";
export const LOAD_FIX =
  `mount the rules folder in the prometheus service (${RULES_MOUNT}) so that rule_files: rules/*.yml matches, with ` +
  "bun notebooks/04-alerting.ts --write <checkout>";

/** Every metric an alert depends on: those of its condition, and its stale guard. */
export const alertMetrics = (alert: Alert) => [...new Set([...metricsOf(alert.condition).metrics, alert.guard])];

/** The metrics every rule a Prometheus holds (ours and the stack's own) names. */
export const metricsToQuery = (rules: { query: string }[], alerts: Alert[] = ALERTS) => [
  ...new Set([...alerts.flatMap(alertMetrics), ...rules.flatMap((r) => metricsOf(r.query).metrics)]),
];

/** Where a metric comes from, by the catalog; a metric the catalog does not know has no known job. */
const componentOf = (metric: string): ComponentId | null => metricByName.get(metric)?.component ?? null;

/** Why a metric is absent: no job scrapes its component, every target of the job is down, or the job lacks it. */
function missingMetric(metric: string, targets: LiveTarget[]): Broken {
  const id = componentOf(metric);
  if (!id) return { link: "metric", what: `${metric} is not exposed by any K2 component`, fix: "rewrite the rule" };
  const c = COMPONENTS[id];
  const mine = targets.filter((t) => t.job === c.job);
  if (!mine.length) {
    const jobs = [...new Set(targets.map((t) => t.job))].join(", ") || "none";
    return { link: "job", what: `no scrape job ${c.job} for ${metric} (jobs: ${jobs})`, fix: c.fix };
  }
  const up = mine.filter((t) => t.health === "up");
  if (!up.length) {
    const t = mine[0]!;
    return {
      link: "target",
      what: `${c.job} target ${t.scrapeUrl} is ${t.health}: ${t.lastError || "no error"}`,
      fix: c.fix,
    };
  }
  return { link: "metric", what: `${c.job} is up at ${up[0]!.scrapeUrl} but exposes no ${metric}`, fix: c.fix };
}

/** Series of a metric as the chain shows them: count, jobs, and the values of its grouping labels. */
function describeSeries(metric: string, series: Record<string, string>[]): string {
  const jobs = [...new Set(series.map((s) => s.job))].join(", ");
  const labels = (metricByName.get(metric)?.labels ?? []).filter((l) => l !== "job" && l !== "instance");
  const values = labels.map((l) => `${l}: ${[...new Set(series.map((s) => s[l]).filter(Boolean))].sort().join(", ")}`);
  return `${metric} (${series.length} series, job ${jobs}${values.length ? `; ${values.join("; ")}` : ""})`;
}

/** The chain of each of our alerts on a live Prometheus. */
export function liveChains(facts: LiveFacts, alerts: Alert[] = ALERTS): ChainRow[] {
  return alerts.map((a) => {
    const chain: string[] = [];
    const broken: Broken[] = [];
    const rule = facts.rules.find((r) => r.type === "alerting" && r.name === a.name);
    if (!rule)
      broken.push({ link: "rule", what: `${a.name} is not loaded by the Prometheus at ${facts.url}`, fix: LOAD_FIX });
    else if (rule.health !== "ok")
      broken.push({
        link: "rule",
        what: `${a.name} is ${rule.health}: ${rule.lastError ?? ""}`,
        fix: "fix the rule's query",
      });
    else chain.push(`rule loaded (${rule.file}, ${rule.health})`);
    for (const m of alertMetrics(a)) {
      const s = facts.series[m] ?? [];
      if (s.length) chain.push(describeSeries(m, s));
      else broken.push(missingMetric(m, facts.targets));
    }
    return { alert: a.name, status: broken.length ? "FAIL" : "PASS", chain, broken };
  });
}

/** The stack's own rules (any not ours): unhealthy ones, and those over metrics no target exposes. */
export function stackRuleFindings(facts: LiveFacts, alerts: Alert[] = ALERTS): AuditFinding[] {
  const ours = new Set(alerts.map((a) => a.name));
  return facts.rules
    .filter((r) => !ours.has(r.name))
    .flatMap((r) => {
      const where = `${r.type} rule ${r.name} (${r.file})`;
      const out: AuditFinding[] = [];
      if (r.health !== "ok")
        out.push({ where, problem: `${r.health}: ${r.lastError ?? ""}`, fix: "fix the rule's query" });
      const { metrics, error } = metricsOf(r.query);
      if (error) out.push({ where, problem: `query ${error}`, fix: "fix the rule's query" });
      for (const m of metrics.filter((x) => !(facts.series[x] ?? []).length)) {
        const b = missingMetric(m, facts.targets);
        out.push({ where, problem: `uses ${m}, which no target exposes now (${b.what})`, fix: b.fix });
      }
      return out;
    });
}
