// --write <platform checkout>: the rules, their tests and the dashboard into the platform's folders, plus what
// makes them load: the compose mount of the rules folder, and the datasource uid the dashboard names in Grafana's
// provisioning. Planned as changes with a unified diff each (shown before anything is written), then written
// atomically. Pure planning; the writer is passed in. The promtool test file goes beside the rules folder, not in it:
// Prometheus loads every file `rule_files: rules/*.yml` matches and refuses one that is not a rule file. Edits to the
// platform's own files (compose, provisioning) insert the lines they need and touch no other byte.

import { createTwoFilesPatch } from "diff";
import { isMap, isScalar, isSeq, type Node, parse, parseDocument, stringify } from "yaml";
import { RULES_MOUNT } from "./audit.ts";
import { COMPONENTS } from "./catalog.ts";
import type { Files } from "./checkout.ts";
import { DATASOURCE } from "./dashboard.ts";

export type Change = { path: string; before: string | null; after: string; diff: string; why: string };
export type Generated = { rules: string; tests: string; dashboard: string };

const RULES_DIR = "docker/prometheus/rules";
const PROMETHEUS_YML = "docker/prometheus/prometheus.yml";
const EXPORTER = COMPONENTS.exporter;
/** promtool's test file: outside the folder Prometheus loads, naming the rules by a path relative to itself. */
const RULE_TESTS_DIR = "docker/prometheus/tests";
const DASHBOARDS_DIR = "docker/grafana/dashboards";

export function planWrite(files: Files, generated: Generated, compose: string): Change[] {
  const planned: Omit<Change, "diff">[] = [
    {
      path: `${RULES_DIR}/k2-alerts.yml`,
      before: files.read(`${RULES_DIR}/k2-alerts.yml`),
      after: generated.rules,
      why: "the rules",
    },
    {
      path: `${RULE_TESTS_DIR}/k2-alerts.test.yml`,
      before: files.read(`${RULE_TESTS_DIR}/k2-alerts.test.yml`),
      after: testsBesideRules(generated.tests),
      why: "their promtool tests (outside the loaded rules folder: Prometheus would refuse a test file there)",
    },
    {
      path: `${DASHBOARDS_DIR}/k2-pipeline.json`,
      before: files.read(`${DASHBOARDS_DIR}/k2-pipeline.json`),
      after: generated.dashboard,
      why: "the dashboard",
    },
  ];
  const c = files.read(compose);
  if (c !== null)
    planned.push({
      path: compose,
      before: c,
      after: withHostGateway(withRulesMount(c)),
      why:
        "the rules folder mount, and host.docker.internal for the prometheus container (extra_hosts host-gateway: " +
        "on Linux the name resolves only so), where the exporter runs on the host",
    });
  const promYml = files.read(PROMETHEUS_YML);
  if (promYml !== null)
    planned.push({
      path: PROMETHEUS_YML,
      before: promYml,
      after: withExporterJob(promYml),
      why:
        `the exporter's scrape job ${EXPORTER.job} at ${EXPORTER.target}: run it where the container reaches the ` +
        "host's gateway (bun run exporter --host 0.0.0.0, or the k2-net gateway address), not on 127.0.0.1",
    });
  for (const f of files.list("docker/grafana/provisioning/datasources").filter((x) => /\.ya?ml$/.test(x))) {
    const path = `docker/grafana/provisioning/datasources/${f}`;
    const before = files.read(path)!;
    planned.push({ path, before, after: withDatasourceUid(before), why: `the datasource uid "${DATASOURCE.uid}"` });
  }
  return planned
    .filter((p) => p.before !== p.after)
    .map((p) => ({ ...p, diff: createTwoFilesPatch(`a/${p.path}`, `b/${p.path}`, p.before ?? "", p.after, "", "") }));
}

/** The promtool test file with its rule_files pointing from the tests folder at the rules: ../rules/k2-alerts.yml. */
function testsBesideRules(tests: string): string {
  const t = parse(tests) as { rule_files?: string[] };
  return stringify({ ...t, rule_files: (t.rule_files ?? []).map((f) => `../rules/${f}`) }, { lineWidth: 0 });
}

/** The text with `line` inserted after the line that holds offset `at` (no other byte changes). */
function insertLineAfter(text: string, at: number, line: string): string {
  const end = text.indexOf("\n", at);
  return end < 0 ? `${text}\n${line}` : `${text.slice(0, end + 1)}${line}\n${text.slice(end + 1)}`;
}
/** Spaces up to the column of offset `at` (a key or a dash: the new line lines up under it). */
const indentAt = (text: string, at: number) => " ".repeat(at - (text.lastIndexOf("\n", at - 1) + 1));

/**
 * The compose file with the rules folder mounted in the prometheus service: one line added under its volumes, after
 * the last mount and indented as it is; every other byte as it was.
 *   volumes:
 *     - ./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro
 *     - ./docker/prometheus/rules:/etc/prometheus/rules:ro      <- added
 * Unchanged when something is already mounted there, or when the service has no block-style volumes list to extend.
 */
function withRulesMount(compose: string): string {
  const doc = parseDocument(compose);
  const services = doc.get("services");
  if (!isMap(services)) return compose;
  const prom = services.get("prometheus");
  if (!isMap(prom)) return compose;
  const volumes = prom.get("volumes");
  if (!isSeq(volumes) || volumes.flow || !volumes.items.length) return compose;
  if (volumes.items.some((v) => String(isScalar(v) ? v.value : v).includes(":/etc/prometheus/rules"))) return compose;
  const last = volumes.items.at(-1) as Node;
  const itemStart = (volumes.items[0] as Node).range![0];
  const dash = compose.lastIndexOf("-", itemStart);
  return insertLineAfter(compose, last.range![1] - 1, `${indentAt(compose, dash)}- ${RULES_MOUNT}`);
}

/** Grafana's prometheus datasource given the uid the dashboards name, when the file sets none: one line added. */
function withDatasourceUid(text: string): string {
  const doc = parseDocument(text);
  const list = doc.get("datasources");
  if (!isSeq(list)) return text;
  let out = text;
  // from the last datasource up, so that the offsets of those above stay right
  for (const d of [...list.items].reverse())
    if (isMap(d) && !d.flow && d.get("type") === "prometheus" && !d.get("uid")) {
      const type = d.items.find((i) => isScalar(i.key) && i.key.value === "type")!;
      const keyAt = (type.key as Node).range![0];
      out = insertLineAfter(out, (type.value as Node).range![1] - 1, `${indentAt(out, keyAt)}uid: ${DATASOURCE.uid}`);
    }
  return out;
}

/** The last line of a block node: insertion goes after it. */
const endOf = (node: Node) => node.range![1] - 1;

/**
 * The compose file with `extra_hosts: ["host.docker.internal:host-gateway"]` on the prometheus service (added after
 * its last key, lined up with its keys), so that the exporter on the host resolves from the container on Linux.
 * Unchanged when the service already maps the name.
 */
function withHostGateway(compose: string): string {
  const doc = parseDocument(compose);
  const services = doc.get("services");
  const prom = isMap(services) ? services.get("prometheus") : undefined;
  if (!isMap(prom) || prom.flow || !prom.items.length) return compose;
  const extra = prom.get("extra_hosts");
  if (isSeq(extra) && extra.items.some((v) => String(isScalar(v) ? v.value : v).startsWith("host.docker.internal")))
    return compose;
  if (extra !== undefined) return compose; // a form of its own: left to the user, as the audit says
  const lastKey = prom.items.at(-1)!;
  const indent = indentAt(compose, (prom.items[0]!.key as Node).range![0]);
  const at = endOf((lastKey.value ?? lastKey.key) as Node);
  return insertLineAfter(compose, at, `${indent}extra_hosts:\n${indent}  - "host.docker.internal:host-gateway"`);
}

/** prometheus.yml with the exporter's scrape job appended to scrape_configs, lined up with the jobs there. */
function withExporterJob(text: string): string {
  const doc = parseDocument(text);
  const jobs = doc.get("scrape_configs");
  if (!isSeq(jobs) || jobs.flow || !jobs.items.length) return text;
  if (jobs.items.some((j) => isMap(j) && j.get("job_name") === EXPORTER.job)) return text;
  const first = jobs.items[0] as Node;
  const dash = text.lastIndexOf("-", first.range![0]);
  const i = indentAt(text, dash);
  const job = [
    `${i}- job_name: ${EXPORTER.job}`,
    `${i}  metrics_path: ${EXPORTER.path}`,
    `${i}  static_configs:`,
    `${i}    - targets: ["${EXPORTER.target}"]`,
  ].join("\n");
  return insertLineAfter(text, endOf(jobs.items.at(-1) as Node), job);
}
