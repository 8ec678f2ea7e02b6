// Step 4's seven alerts as one declarative table (FACTS.md, "Monitoring (step 4) alerts"),
// thresholds from lib/k2/thresholds.ts, written as Prometheus rule YAML by the yaml library.
// Each expression is paired with absent(...) of its metric: a stopped target's series go
// stale and a bare comparison would then return nothing and never fire.
import { stringify } from "yaml";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { durationSpec } from "../runtime/units.ts";
import type { ComponentId } from "./catalog.ts";

type Severity = "critical" | "warning";

/** Values for promtool's input series (every 15 s) that make the condition true or keep it just under. */
type TestSeries = { series: string; values: string }[];

export type Alert = {
  name: string;
  severity: Severity;
  /** the critical path this alert watches */
  watches: string;
  component: ComponentId;
  /** the condition without the stale guard */
  condition: string;
  /** the metric whose absence also fires the alert */
  guard: string;
  /** the threshold is a time, in seconds or minutes, so a time-compressed run divides it too */
  timeThreshold?: "s" | "min";
  forMs: number;
  summary: string;
  description: string;
  runbook: string;
  /** labels the alert carries from its expression when the condition (not the guard) fires it */
  groupLabels: string[];
  tests: {
    /** condition true from the first sample */
    firing: TestSeries;
    /** seconds after the first sample at which the condition is first true (a rate needs two samples) */
    trueFromS: number;
    /** labels of the firing alert from its expression */
    firingLabels: Record<string, string>;
    /** just under the threshold throughout */
    silent: TestSeries;
  };
};

const S = (ms: number) => ms / 1000;
const RUNBOOKS = "docs/operations/runbooks";
const series = (s: string, values: string) => ({ series: s, values });

export const ALERTS: Alert[] = [
  {
    name: "FeedHandlerDown",
    severity: "critical",
    watches: "feed handlers -> Redpanda -> ClickHouse (per exchange)",
    component: "exporter",
    condition: `time() - max by (exchange) (k2_trades_newest_timestamp_seconds) > ${S(THRESHOLDS.feedStaleMs)}`,
    guard: "k2_trades_newest_timestamp_seconds",
    timeThreshold: "s",
    forMs: 15_000,
    summary: `An exchange has landed no trade for more than ${durationSpec(THRESHOLDS.feedStaleMs)}`,
    description:
      "No trade from this exchange reached silver. First: docker ps --filter name=k2-feed-handler, then " +
      "docker logs --tail 50 k2-feed-handler-<exchange>. No exchange label: the k2-pipeline exporter is not scraped.",
    runbook: `${RUNBOOKS}/feed-handler-crash-runbook.md`,
    groupLabels: ["exchange"],
    tests: {
      // time() in promtool starts at 0: a trade time of 0 is as old as the evaluation time
      firing: [series('k2_trades_newest_timestamp_seconds{exchange="binance"}', "0x60")],
      trueFromS: S(THRESHOLDS.feedStaleMs) + 15,
      firingLabels: { exchange: "binance" },
      // a trade time that keeps exactly the threshold's age: never over it
      silent: [series('k2_trades_newest_timestamp_seconds{exchange="binance"}', `-${S(THRESHOLDS.feedStaleMs)}+15x60`)],
    },
  },
  {
    name: "RedpandaConsumerLagHigh",
    severity: "warning",
    watches: "Redpanda -> ClickHouse Kafka engine consumers",
    component: "redpanda",
    condition: `max by (redpanda_group) (redpanda_kafka_consumer_group_lag_max) > ${THRESHOLDS.consumerLagMessages}`,
    guard: "redpanda_kafka_consumer_group_lag_max",
    forMs: THRESHOLDS.consumerLagForMs,
    summary: `A consumer group lags by more than ${THRESHOLDS.consumerLagMessages} messages`,
    description:
      "ClickHouse's Kafka engine is not keeping up. First: docker exec k2-redpanda rpk group describe <group>, " +
      "then SELECT * FROM system.kafka_consumers in ClickHouse. No group label: lag metrics are not exported.",
    runbook: `${RUNBOOKS}/redpanda-restart-runbook.md`,
    groupLabels: ["redpanda_group"],
    tests: {
      firing: [series('redpanda_kafka_consumer_group_lag_max{redpanda_group="clickhouse"}', "1001x60")],
      trueFromS: 0,
      firingLabels: { redpanda_group: "clickhouse" },
      silent: [series('redpanda_kafka_consumer_group_lag_max{redpanda_group="clickhouse"}', "1000x60")],
    },
  },
  {
    name: "ClickHouseBronzeInsertFailure",
    severity: "critical",
    watches: "Kafka engine -> bronze inserts",
    component: "clickhouse",
    condition: "rate(ClickHouseProfileEvents_FailedInsertQuery[2m]) > 0",
    guard: "ClickHouseProfileEvents_FailedInsertQuery",
    forMs: 60_000,
    summary: "ClickHouse INSERT queries are failing",
    description:
      "Inserts into bronze (or any table) fail. First: SELECT event_time, exception FROM system.query_log WHERE " +
      "type = 'ExceptionWhileProcessing' AND query_kind = 'Insert' ORDER BY event_time DESC LIMIT 10.",
    runbook: `${RUNBOOKS}/clickhouse-unavailable-runbook.md`,
    groupLabels: [],
    tests: {
      firing: [series("ClickHouseProfileEvents_FailedInsertQuery", "0+1x60")],
      trueFromS: 15,
      firingLabels: {},
      silent: [series("ClickHouseProfileEvents_FailedInsertQuery", "5x60")],
    },
  },
  {
    name: "MVProcessingDelay",
    severity: "warning",
    watches: "bronze -> silver -> gold materialized views",
    component: "exporter",
    condition: `max by (exchange) (k2_ingestion_delay_avg_seconds) > ${S(THRESHOLDS.mvDelayMs)}`,
    guard: "k2_ingestion_delay_avg_seconds",
    timeThreshold: "s",
    forMs: 2 * 60_000,
    summary: `Average ingestion minus exchange time is above ${durationSpec(THRESHOLDS.mvDelayMs)}`,
    description:
      "Trades land late. First: SELECT * FROM system.kafka_consumers, then the latency notebook " +
      "(bun notebooks/01-latency.ts --scenarios 1x) for where the time goes.",
    runbook: `${RUNBOOKS}/silver-mv-stall-runbook.md`,
    groupLabels: ["exchange"],
    tests: {
      firing: [series('k2_ingestion_delay_avg_seconds{exchange="kraken"}', "31x60")],
      trueFromS: 0,
      firingLabels: { exchange: "kraken" },
      silent: [series('k2_ingestion_delay_avg_seconds{exchange="kraken"}', "30x60")],
    },
  },
  {
    name: "IcebergOffloadLag",
    severity: "warning",
    watches: "ClickHouse -> Iceberg offload (lag)",
    component: "exporter",
    condition: `max by (table) (k2_offload_lag_minutes) > ${THRESHOLDS.offloadLagMinutes}`,
    guard: "k2_offload_lag_minutes",
    timeThreshold: "min",
    forMs: 5 * 60_000,
    summary: `The cold tier is more than ${THRESHOLDS.offloadLagMinutes} minutes behind`,
    description:
      "No offload run has succeeded for that long (the lag counts from the last successful run). First: docker ps " +
      "--filter name=k2-spark-iceberg and the Prefect UI (http://localhost:4200, deployment iceberg-offload-15min).",
    runbook: `${RUNBOOKS}/minio-unavailable-runbook.md`,
    groupLabels: ["table"],
    tests: {
      firing: [series('k2_offload_lag_minutes{table="silver_trades"}', "31x60")],
      trueFromS: 0,
      firingLabels: { table: "silver_trades" },
      silent: [series('k2_offload_lag_minutes{table="silver_trades"}', "30x60")],
    },
  },
  {
    name: "IcebergOffloadFailure",
    severity: "critical",
    watches: "ClickHouse -> Iceberg offload (failures)",
    component: "exporter",
    condition: `max by (table) (k2_offload_consecutive_failures) > ${THRESHOLDS.offloadFailedRunsAbove}`,
    guard: "k2_offload_consecutive_failures",
    forMs: 60_000,
    summary: `More than ${THRESHOLDS.offloadFailedRunsAbove} offload runs in a row failed`,
    description:
      "The offload job fails run after run. First: docker logs --tail 100 k2-prefect-worker, then the watermarks " +
      "where the offload writes them, the Prefect DB: docker exec k2-prefect-db psql -U prefect -d prefect -c " +
      "'SELECT * FROM offload_watermarks'.",
    runbook: `${RUNBOOKS}/minio-unavailable-runbook.md`,
    groupLabels: ["table"],
    tests: {
      firing: [series('k2_offload_consecutive_failures{table="silver_trades"}', "3x60")],
      trueFromS: 0,
      firingLabels: { table: "silver_trades" },
      silent: [series('k2_offload_consecutive_failures{table="silver_trades"}', "2x60")],
    },
  },
  {
    name: "ServiceOOMKill",
    severity: "critical",
    watches: "every K2 container (restarts, OOM kills)",
    component: "exporter",
    condition: "delta(k2_container_restart_count[15m]) > 0 or max by (container) (k2_container_oom_killed) > 0",
    guard: "k2_container_restart_count",
    forMs: 60_000,
    summary: "A K2 container restarted or was OOM-killed",
    description:
      // no Go template braces here: Prometheus expands annotations as templates
      "A service is crash-looping or out of memory. First: docker inspect <container> | grep -E " +
      "'RestartCount|OOMKilled', then docker logs --tail 100 <container>.",
    runbook: `${RUNBOOKS}/clickhouse-unavailable-runbook.md`,
    groupLabels: ["container"],
    tests: {
      firing: [
        series('k2_container_restart_count{container="k2-clickhouse"}', "0 1x59"),
        series('k2_container_oom_killed{container="k2-clickhouse"}', "0x60"),
      ],
      trueFromS: 15,
      firingLabels: { container: "k2-clickhouse" },
      silent: [
        series('k2_container_restart_count{container="k2-clickhouse"}', "3x60"),
        series('k2_container_oom_killed{container="k2-clickhouse"}', "0x60"),
      ],
    },
  },
];

/** The rule's expression: the condition, or its metric missing altogether (a stale or unscraped target). */
export const expressionOf = (alert: Alert) => `(${alert.condition}) or on() absent(${alert.guard})`;

export type RuleFile = {
  groups: {
    name: string;
    rules: {
      alert: string;
      expr: string;
      for: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    }[];
  }[];
};

export const ruleLabels = (alert: Alert) => ({ severity: alert.severity, component: alert.component });
export const ruleAnnotations = (alert: Alert) => ({
  summary: alert.summary,
  description: alert.description,
  runbook_url: alert.runbook,
});

function ruleFile(alerts: Alert[] = ALERTS): RuleFile {
  return {
    groups: [
      {
        name: "k2-phase7",
        rules: alerts.map((a) => ({
          alert: a.name,
          expr: expressionOf(a),
          for: durationSpec(a.forMs),
          labels: ruleLabels(a),
          annotations: ruleAnnotations(a),
        })),
      },
    ],
  };
}

const HEADER =
  "# K2 Phase 7 alert rules, generated by k2-hardening (notebooks/04-alerting.ts): edit the table, not this file\n";

export const ruleYaml = (alerts: Alert[] = ALERTS) => HEADER + stringify(ruleFile(alerts), { lineWidth: 0 });
