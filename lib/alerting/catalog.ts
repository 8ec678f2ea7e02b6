// What Prometheus can scrape from a K2 stack: the components, where each is scraped, and the
// metrics each exposes (FACTS.md, "What the platform exposes to Prometheus today"). Rules,
// the dashboard and both audits name metrics from here, so an unknown metric is caught once.

export type ComponentId = "exporter" | "redpanda" | "clickhouse" | "offload" | "prometheus";

export type Component = {
  id: ComponentId;
  /** the scrape job the rules and the audit expect */
  job: string;
  /** host:port and path the job should scrape on the compose network */
  target: string;
  path: string;
  /** what K2's repository does today, and the fix when that is not enough */
  today: string;
  fix: string;
};

export const COMPONENTS: Record<ComponentId, Component> = {
  exporter: {
    id: "exporter",
    job: "k2-pipeline",
    target: "host.docker.internal:9464",
    path: "/metrics",
    today: "no K2 component exports trade-level facts (newest trade, ingestion delay, offload state, restarts)",
    fix:
      "export these facts with a pipeline exporter (k2-hardening's, step 4 part 2, or an equivalent) and scrape it " +
      "as job k2-pipeline",
  },
  redpanda: {
    id: "redpanda",
    job: "redpanda",
    target: "redpanda:9644",
    path: "/public_metrics",
    today: "scraped at :9644/metrics (internal vectorized_* names); consumer lag is off",
    fix:
      "scrape redpanda:9644 with metrics_path /public_metrics and set the cluster property " +
      "enable_consumer_group_metrics to include consumer_lag (rpk cluster config set)",
  },
  clickhouse: {
    id: "clickhouse",
    job: "clickhouse",
    target: "clickhouse:9363",
    path: "/metrics",
    today: "scraped at clickhouse:8123/metrics, which is not a metrics endpoint (no <prometheus> section)",
    fix:
      "add <prometheus><endpoint>/metrics</endpoint><port>9363</port><metrics>true</metrics>" +
      "<events>true</events><asynchronous_metrics>true</asynchronous_metrics></prometheus> to the ClickHouse " +
      "config and scrape clickhouse:9363",
  },
  offload: {
    id: "offload",
    job: "iceberg-scheduler",
    target: "host.docker.internal:8000",
    path: "/metrics",
    today:
      "docker/offload/metrics.py serves only when run as a script, which the Prefect worker never does, and " +
      "host.docker.internal does not resolve on Linux without extra_hosts",
    fix:
      "watch the offload through the k2-pipeline exporter's k2_offload_* metrics (from the watermarks), or start " +
      "metrics.py's server in the flow and add extra_hosts: [host.docker.internal:host-gateway] to prometheus",
  },
  prometheus: {
    id: "prometheus",
    job: "prometheus",
    target: "localhost:9090",
    path: "/metrics",
    today: "scraped",
    fix: "",
  },
};

type MetricType = "gauge" | "counter";
type Metric = { name: string; component: ComponentId; type: MetricType; labels: string[]; help: string };

const m = (component: ComponentId, type: MetricType, name: string, labels: string[], help: string): Metric => ({
  name,
  component,
  type,
  labels,
  help,
});

/** Every metric a rule or a panel may name. */
const METRICS: Metric[] = [
  m("exporter", "gauge", "k2_trades_newest_timestamp_seconds", ["exchange"], "newest trade's ingestion time (silver)"),
  m("exporter", "counter", "k2_trades_landed_total", ["exchange"], "trades landed in silver"),
  m("exporter", "gauge", "k2_ingestion_delay_avg_seconds", ["exchange"], "avg ingestion minus exchange time, 1 min"),
  m("exporter", "gauge", "k2_ingestion_delay_p99_seconds", ["exchange"], "p99 ingestion minus exchange time, 1 min"),
  m("exporter", "gauge", "k2_offload_lag_minutes", ["table"], "minutes since the last successful offload run"),
  m("exporter", "gauge", "k2_offload_consecutive_failures", ["table"], "failed offload runs since the last success"),
  m("exporter", "gauge", "k2_container_restart_count", ["container"], "Docker's RestartCount per K2 container"),
  m("exporter", "gauge", "k2_container_oom_killed", ["container"], "1 when Docker's State.OOMKilled is set"),
  m("exporter", "gauge", "k2_container_cpu_cores", ["container"], "CPU in cores per K2 container"),
  m("exporter", "gauge", "k2_container_memory_bytes", ["container"], "memory less inactive cache per K2 container"),
  m("exporter", "gauge", "k2_exporter_source_up", ["source"], "1 when the exporter can read the source"),
  m("redpanda", "gauge", "redpanda_kafka_consumer_group_lag_max", ["redpanda_group"], "max partition lag of a group"),
  m("redpanda", "counter", "redpanda_kafka_records_produced_total", ["redpanda_topic"], "records produced per topic"),
  m("clickhouse", "counter", "ClickHouseProfileEvents_FailedInsertQuery", [], "INSERT queries that failed"),
  m("clickhouse", "counter", "ClickHouseProfileEvents_InsertedRows", [], "rows inserted"),
  m("clickhouse", "counter", "ClickHouseProfileEvents_KafkaMessagesFailed", [], "Kafka engine messages that failed"),
  // the platform's own offload metrics (docker/offload/metrics.py): defined, never served today
  m("offload", "gauge", "offload_lag_minutes", ["table"], "minutes since the last offload (platform)"),
  m("offload", "counter", "offload_cycles_total", ["status"], "offload cycles by status (platform)"),
  m("offload", "counter", "offload_errors_total", ["table", "error_type"], "offload errors (platform)"),
  m("offload", "gauge", "offload_last_success_timestamp", [], "last successful offload (platform)"),
  m("prometheus", "gauge", "up", ["job", "instance"], "1 when the last scrape of a target succeeded"),
];

export const metricByName = new Map(METRICS.map((x) => [x.name, x]));
