// The live audit's fetch: what a Prometheus holds now, through the small PromApi interface (lib/io/prometheus.ts).
import type { PromApi } from "../io/prometheus.ts";
import { type LiveFacts, metricsToQuery } from "./audit.ts";
import { ALERTS, type Alert } from "./rules.ts";

export async function gatherLive(api: PromApi, alerts: Alert[] = ALERTS): Promise<LiveFacts> {
  const [rules, targets] = await Promise.all([api.rules(), api.targets()]);
  const series: LiveFacts["series"] = {};
  for (const m of metricsToQuery(rules, alerts)) series[m] = await api.series(m);
  return { url: api.url, version: api.version, rules, targets, series };
}
