// The dashboard k2-pipeline.json for Grafana 11.5 (schemaVersion 40): five rows, one per
// critical path, built as typed objects (@grafana/schema) and validated offline.
import type { Dashboard, DataSourceRef, Panel, RowPanel } from "@grafana/schema";
import { parser } from "@prometheus-io/lezer-promql";
import { metricByName } from "./catalog.ts";
import { ALERTS } from "./rules.ts";

export const DATASOURCE: DataSourceRef = { type: "prometheus", uid: "prometheus" };

type Query = { expr: string; legend: string };
type PanelSpec = { title: string; queries: Query[]; unit?: string };
const q = (expr: string, legend: string): Query => ({ expr, legend });

/** The five panel groups of FACTS.md, each a row of panels. */
const ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: "Feed handlers",
    panels: [
      {
        title: "Trades landed per second",
        queries: [q("sum by (exchange) (rate(k2_trades_landed_total[1m]))", "{{exchange}}")],
      },
      {
        title: "Seconds since newest trade",
        unit: "s",
        queries: [q("time() - k2_trades_newest_timestamp_seconds", "{{exchange}}")],
      },
      {
        title: "Records produced per topic",
        queries: [q("sum by (redpanda_topic) (rate(redpanda_kafka_records_produced_total[1m]))", "{{redpanda_topic}}")],
      },
    ],
  },
  {
    title: "Redpanda lag",
    panels: [
      {
        title: "Consumer group lag (max)",
        queries: [q("redpanda_kafka_consumer_group_lag_max", "{{redpanda_group}}")],
      },
    ],
  },
  {
    title: "ClickHouse pipeline",
    panels: [
      {
        title: "Ingestion delay avg / p99",
        unit: "s",
        queries: [
          q("k2_ingestion_delay_avg_seconds", "avg {{exchange}}"),
          q("k2_ingestion_delay_p99_seconds", "p99 {{exchange}}"),
        ],
      },
      {
        title: "Failed inserts per second",
        queries: [q("rate(ClickHouseProfileEvents_FailedInsertQuery[2m])", "failed")],
      },
      { title: "Rows inserted per second", queries: [q("rate(ClickHouseProfileEvents_InsertedRows[1m])", "rows")] },
    ],
  },
  {
    title: "Iceberg offload",
    panels: [
      { title: "Offload lag (minutes)", queries: [q("k2_offload_lag_minutes", "{{table}}")] },
      { title: "Consecutive failed runs", queries: [q("k2_offload_consecutive_failures", "{{table}}")] },
    ],
  },
  {
    title: "Resource utilisation",
    panels: [
      { title: "CPU (cores)", queries: [q('k2_container_cpu_cores{container=~"$container"}', "{{container}}")] },
      {
        title: "Memory",
        unit: "bytes",
        queries: [q('k2_container_memory_bytes{container=~"$container"}', "{{container}}")],
      },
      { title: "Restarts", queries: [q('k2_container_restart_count{container=~"$container"}', "{{container}}")] },
    ],
  },
];

const WIDTH = 24;

export function buildDashboard(): Dashboard {
  let id = 1,
    y = 0;
  const panels: (Panel | RowPanel)[] = [];
  for (const row of ROWS) {
    panels.push({
      type: "row",
      id: id++,
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y: y++, w: WIDTH, h: 1 },
      panels: [],
    });
    const w = Math.floor(WIDTH / row.panels.length);
    row.panels.forEach((p, i) => {
      panels.push({
        type: "timeseries",
        id: id++,
        title: p.title,
        datasource: DATASOURCE,
        gridPos: { x: i * w, y, w, h: 8 },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        options: {},
        targets: p.queries.map((x, k) => ({
          refId: String.fromCharCode(65 + k),
          datasource: DATASOURCE,
          expr: x.expr,
          legendFormat: x.legend,
        })),
      });
    });
    y += 8;
  }
  return {
    uid: "k2-pipeline",
    title: "K2 pipeline: end-to-end health",
    tags: ["k2", "phase-7"],
    schemaVersion: 40,
    editable: true,
    time: { from: "now-1h", to: "now" },
    refresh: "15s",
    panels,
    templating: {
      list: [
        {
          type: "query",
          name: "container",
          label: "Container",
          datasource: DATASOURCE,
          query: "label_values(k2_container_restart_count, container)",
          includeAll: true,
          multi: true,
          refresh: 2,
        },
      ],
    },
    annotations: { list: [] },
    links: [],
  } as Dashboard;
}

export type Finding = { panel: string; problem: string };

/** Metric names a PromQL expression selects, or the parse error. */
export function metricsOf(expr: string): { metrics: string[]; error?: string } {
  const text = expr.replace(/\$\w+/g, "x");
  const tree = parser.parse(text);
  const metrics: string[] = [];
  let error: string | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) error ??= `does not parse near "${text.slice(n.from, n.from + 20)}"`;
      if (n.name === "VectorSelector") {
        const id = n.node.getChild("Identifier");
        if (id) metrics.push(text.slice(id.from, id.to));
      }
    },
  });
  return { metrics, error };
}

/**
 * Offline checks: unique panel ids, a 24-column grid without overlaps, every datasource uid among
 * `provisioned`, every $variable declared, every expression parsed and every metric in the catalog.
 */
export function validateDashboard(dashboard: Dashboard, provisioned: string[]): Finding[] {
  const panels = (dashboard.panels ?? []) as (Panel | RowPanel)[];
  const vars = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
  return [
    ...layoutFindings(panels),
    ...panels.flatMap((p) => (p.type === "row" ? [] : queryFindings(p as Panel, vars, provisioned))),
  ];
}

const nameOf = (p: Panel | RowPanel) => `${p.id} "${p.title ?? ""}"`;

/** Ids unique, every panel inside the 24 columns, no panel over an earlier one. */
function layoutFindings(panels: (Panel | RowPanel)[]): Finding[] {
  const out: Finding[] = [];
  panels.forEach((p, i) => {
    const g = p.gridPos!;
    const twin = panels.slice(0, i).find((o) => o.id === p.id);
    if (twin) out.push({ panel: nameOf(p), problem: `duplicate id (also ${nameOf(twin)})` });
    if (g.x < 0 || g.x + g.w > WIDTH)
      out.push({ panel: nameOf(p), problem: `outside the 24-column grid (x ${g.x}, w ${g.w})` });
    const under = panels.slice(0, i).find((o) => {
      const h = o.gridPos!;
      return g.x < h.x + h.w && h.x < g.x + g.w && g.y < h.y + h.h && h.y < g.y + g.h;
    });
    if (under) {
      const h = under.gridPos!;
      const at = `x ${Math.max(g.x, h.x)}, y ${Math.max(g.y, h.y)}`;
      out.push({ panel: nameOf(p), problem: `overlaps ${nameOf(under)} at ${at}` });
    }
  });
  return out;
}

/** Every datasource uid provisioned, every $variable declared, every expression parsed over known metrics. */
function queryFindings(panel: Panel, vars: Set<string>, provisioned: string[]): Finding[] {
  const out: Finding[] = [];
  const add = (problem: string) => out.push({ panel: nameOf(panel), problem });
  const targets = (panel.targets ?? []) as { expr?: string; datasource?: DataSourceRef }[];
  for (const uid of [panel.datasource, ...targets.map((t) => t.datasource)].map((r) => r?.uid))
    if (uid && !uid.startsWith("$") && !provisioned.includes(uid))
      add(`datasource uid "${uid}" is not provisioned (have: ${provisioned.join(", ") || "none"})`);
  for (const expr of targets.map((t) => t.expr ?? "")) {
    for (const v of expr.match(/\$(\w+)/g) ?? []) if (!vars.has(v.slice(1))) add(`variable ${v} is not declared`);
    const { metrics, error } = metricsOf(expr);
    if (error) add(`${expr}: ${error}`);
    for (const m of metrics) if (!metricByName.has(m)) add(`unknown metric ${m}`);
  }
  return out;
}

/** Every alert's expression parsed, and every metric it names known. */
export function validateRules(): Finding[] {
  return ALERTS.flatMap((a) => {
    const { metrics, error } = metricsOf(a.condition);
    return [
      ...(error ? [{ panel: a.name, problem: error }] : []),
      ...metrics.filter((m) => !metricByName.has(m)).map((m) => ({ panel: a.name, problem: `unknown metric ${m}` })),
    ];
  });
}

/** The Grafana provisioning file that gives the dashboards' datasource its uid. */
export const DATASOURCE_PROVISIONING = `apiVersion: 1
datasources:
  - name: Prometheus
    type: prometheus
    uid: ${DATASOURCE.uid}
    access: proxy
    url: http://prometheus:9090
    isDefault: true
`;
