// --write <platform checkout>: the rules, their tests and the dashboard into the platform's folders, plus what
// makes them load: the compose mount of the rules folder, and the datasource uid the dashboard names in Grafana's
// provisioning. Planned as changes with a unified diff each (shown before anything is written), then written
// atomically. Pure planning; the writer is passed in.
import { parseDocument, isMap, isSeq, YAMLSeq } from "yaml";
import { createTwoFilesPatch } from "diff";
import type { Files } from "./checkout.ts";
import { RULES_MOUNT } from "./audit.ts";
import { DATASOURCE } from "./dashboard.ts";

export type Change = { path: string; before: string | null; after: string; diff: string; why: string };
export type Generated = { rules: string; tests: string; dashboard: string };

export const RULES_DIR = "docker/prometheus/rules";
export const DASHBOARDS_DIR = "docker/grafana/dashboards";

export function planWrite(files: Files, g: Generated, compose: string): Change[] {
  const planned: Omit<Change, "diff">[] = [
    {
      path: `${RULES_DIR}/k2-alerts.yml`,
      before: files.read(`${RULES_DIR}/k2-alerts.yml`),
      after: g.rules,
      why: "the rules",
    },
    {
      path: `${RULES_DIR}/k2-alerts.test.yml`,
      before: files.read(`${RULES_DIR}/k2-alerts.test.yml`),
      after: g.tests,
      why: "their promtool tests",
    },
    {
      path: `${DASHBOARDS_DIR}/k2-pipeline.json`,
      before: files.read(`${DASHBOARDS_DIR}/k2-pipeline.json`),
      after: g.dashboard,
      why: "the dashboard",
    },
  ];
  const c = files.read(compose);
  if (c !== null) planned.push({ path: compose, before: c, after: withRulesMount(c), why: "the rules folder mount" });
  for (const f of files.list("docker/grafana/provisioning/datasources").filter((x) => /\.ya?ml$/.test(x))) {
    const path = `docker/grafana/provisioning/datasources/${f}`;
    const before = files.read(path)!;
    planned.push({ path, before, after: withDatasourceUid(before), why: `the datasource uid "${DATASOURCE.uid}"` });
  }
  return planned
    .filter((p) => p.before !== p.after)
    .map((p) => ({ ...p, diff: createTwoFilesPatch(`a/${p.path}`, `b/${p.path}`, p.before ?? "", p.after, "", "") }));
}

/**
 * The compose file with the rules folder mounted in the prometheus service, comments kept:
 *   volumes: [./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro]
 * gains ./docker/prometheus/rules:/etc/prometheus/rules:ro. Unchanged when something is already mounted there.
 */
export function withRulesMount(compose: string): string {
  const doc = parseDocument(compose);
  const services = doc.get("services");
  if (!isMap(services)) return compose;
  const key = services.items.find((i) => String(i.key) === "prometheus")?.key;
  const prom = key ? services.get(key) : undefined;
  if (!isMap(prom)) return compose;
  let volumes = prom.get("volumes");
  if (!isSeq(volumes)) prom.set("volumes", (volumes = new YAMLSeq()));
  const seq = volumes as YAMLSeq;
  if (seq.items.some((v) => String((v as { value?: unknown }).value ?? v).includes(":/etc/prometheus/rules")))
    return compose;
  seq.add(RULES_MOUNT);
  return doc.toString({ lineWidth: 0 });
}

/** Grafana's prometheus datasource given the uid the dashboards name, when the file sets none. */
export function withDatasourceUid(text: string): string {
  const doc = parseDocument(text);
  const list = doc.get("datasources");
  if (!isSeq(list)) return text;
  let changed = false;
  for (const d of list.items)
    if (isMap(d) && d.get("type") === "prometheus" && !d.get("uid")) {
      d.set("uid", DATASOURCE.uid);
      changed = true;
    }
  return changed ? doc.toString({ lineWidth: 0 }) : text;
}
