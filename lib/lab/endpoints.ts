// What K2's Redpanda and ClickHouse expose to Prometheus once FACTS.md's fixes are applied, served by the lab from its
// own state under the same metric names: Redpanda's /public_metrics (consumer group lag per Kafka engine table, records
// produced per topic, from the replayer) and ClickHouse's <prometheus> endpoint (ClickHouseProfileEvents_* from the
// embedded engine's system.events). Rules and dashboards written for the stack then work on the lab unchanged.
import type { Db } from "../io/clickhouse.ts";
import { topicOf } from "../k2/stack.ts";
import { EXCHANGES } from "./instruments.ts";
import type { ReplaySummary } from "./replayer.ts";

/** Redpanda's consumer group of a K2 Kafka engine table, as its kafka_group_name would name it. */
const consumerGroup = (e: string) => `clickhouse_${e}`;

export function redpandaMetrics(summary: ReplaySummary): string {
  return [
    "# HELP redpanda_kafka_consumer_group_lag_max Max partition lag of a consumer group " +
      "(K2 lab: the replayer's backlog)",
    "# TYPE redpanda_kafka_consumer_group_lag_max gauge",
    ...EXCHANGES.map(
      (e) => `redpanda_kafka_consumer_group_lag_max{redpanda_group="${consumerGroup(e)}"} ${summary.backlog[e]}`,
    ),
    "# HELP redpanda_kafka_records_produced_total Records produced to a topic (K2 lab: trades the handlers published)",
    "# TYPE redpanda_kafka_records_produced_total counter",
    ...EXCHANGES.map(
      (e) =>
        `redpanda_kafka_records_produced_total{redpanda_topic="${topicOf(e)}"} ${summary.perExchange[e].generated}`,
    ),
    "",
  ].join("\n");
}

const EVENTS = ["FailedInsertQuery", "InsertQuery", "InsertedRows", "KafkaMessagesFailed"];

export async function clickhouseMetrics(db: Db): Promise<string> {
  const rows = await db.query<{ event: string; value: number }>(
    `SELECT event, value FROM system.events WHERE event IN (${EVENTS.map((e) => `'${e}'`).join(", ")})`,
  );
  return EVENTS.flatMap((e) => [
    `# HELP ClickHouseProfileEvents_${e} ${e} (K2 lab: the embedded engine's system.events)`,
    `# TYPE ClickHouseProfileEvents_${e} counter`,
    `ClickHouseProfileEvents_${e} ${Number(rows.find((r) => r.event === e)?.value ?? 0)}`,
  ])
    .concat("")
    .join("\n");
}
