// What K2's Redpanda and ClickHouse expose to Prometheus once FACTS.md's fixes are applied, served by the lab from its
// own state under the same metric names: Redpanda's /public_metrics (consumer group lag per Kafka engine table, records
// produced per topic, from the replayer) and ClickHouse's <prometheus> endpoint (ClickHouseProfileEvents_* from the
// embedded engine's system.events). Rules and dashboards written for the stack then work on the lab unchanged.
import type { Db } from "../io/clickhouse.ts";
import { Overrun, withTimeout } from "../io/docker.ts";
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

async function clickhouseMetrics(db: Db): Promise<string> {
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

/** How old the last read's counters may be and still answer a scrape whose own read is late. */
const ENDPOINT_KEPT_MS = 30_000;

/**
 * ClickHouse's <prometheus> endpoint, from the embedded engine's system.events. A server answers it from counters in
 * memory whatever queries it is running; the embedded engine runs one query at a time (measured: a 9 ms read of
 * system.events waited 1562 ms behind a 1.6 s query), so on a loaded machine a read waits behind the lab's inserts
 * past Prometheus's scrape timeout, the scrape fails, and every ClickHouse series is absent: each absent() guard fires
 * in a quiet baseline. So a scrape waits for its read at most `budgetMs` (the exporter's scrapeBudgetMs), then gets
 * the last read's counters (at most ENDPOINT_KEPT_MS old); the read goes on, and the next scrape gets it. A read that
 * fails fails the scrape, as a server that is down does.
 */
export class ClickHouseEndpoint {
  private reading: Promise<string> | undefined;
  private last: { text: string; at: number } | undefined;
  /** scrapes answered, and how many of them with the last read's counters */
  readonly answered = { scrapes: 0, kept: 0 };
  constructor(private readonly db: Db) {}

  async metrics(budgetMs?: number): Promise<string> {
    const at = Date.now();
    this.answered.scrapes++;
    const reading = (this.reading ??= clickhouseMetrics(this.db)
      .then((text) => ((this.last = { text, at }), text))
      .finally(() => (this.reading = undefined)));
    const last = this.last;
    if (!last || budgetMs === undefined || at - last.at > ENDPOINT_KEPT_MS) return reading;
    return withTimeout(reading, budgetMs).catch((e: unknown) => {
      if (!(e instanceof Overrun)) throw e;
      this.answered.kept++;
      return last.text;
    });
  }

  /** Waits for the read in flight: the engine is not closed under it. */
  async stop() {
    await this.reading?.catch(() => {});
  }
}
