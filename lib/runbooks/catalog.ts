// The platform's five runbooks (FACTS.md, step 5): for each, the step 3 fault that exercises it, the alerts that fire
// for it, what to look at and the ordered commands that clear it, with the platform's real names. Commands are built
// from `Names` (the target's database and silver columns as discovered), so a runbook and its check agree. Pure.

import { reconnectCommand } from "../k2/network.ts";
import { RUNBOOK_MTTR_MS } from "../k2/thresholds.ts";

type RunbookName = keyof typeof RUNBOOK_MTTR_MS;

/** The names commands are written with: the target's, as discovered (defaults are K2's). */
export type Names = {
  database: string;
  silver: string;
  exchangeTime: string;
  processed: string;
  exchange: string;
  /** the compose network the partition test names */
  network: string;
  /** the materialized view that carries binance's bronze into silver */
  silverMv: string;
  /** how far back "trades are landing" looks: twice the Kafka engine's flush interval, at least 5 s */
  windowS: number;
  /**
   * where the offload's watermarks are written: a stack's offload writes only the Prefect DB (ClickHouse's copy is
   * seeded at 1970 and never updated); the lab's offload job writes ClickHouse's
   */
  watermarks: "postgres" | "clickhouse";
};
export const K2_NAMES: Names = {
  database: "k2",
  silver: "silver_trades",
  exchangeTime: "timestamp",
  processed: "processed_at",
  exchange: "exchange",
  network: "k2-net",
  silverMv: "bronze_binance_to_silver_mv",
  windowS: 16, // K2's 7.5 s flush
  watermarks: "postgres",
};

/** A step: a shell command (docker), or SQL run through the ClickHouse container; `when` makes it conditional. */
export type Command = { what: string; when?: string } & ({ shell: string } | { sql: string });

export type Runbook = {
  name: RunbookName;
  file: string;
  title: string;
  mttrTargetMs: number;
  /** the step 3 test whose fault this runbook clears (silver-mv-stall: the lab's MV detach) */
  test: string | null;
  /** what the drill does to create the failure */
  fault: string;
  /** a fault that is SQL rather than a step 3 test: the statement that makes it and the one that undoes it */
  sqlFault?: { apply: string; clear: string };
  /** the containers it concerns: their burn-in figures go under Prevention */
  containers: string[];
  alerts: string[];
  /** the k2-pipeline dashboard rows to look at */
  rows: string[];
  metrics: string[];
  diagnosis: Command[];
  resolution: Command[];
  /** the check that says it is over: returns one row with ok = 1 */
  verify: Command & { sql: string };
  gotchas: string[];
  /** the `when` of conditional resolution steps that hold in the drill (its fault makes them true) */
  drillWhen: string[];
};

const sql = (what: string, q: string, when?: string): Command => ({ what, sql: q, when });
const sh = (what: string, cmd: string, when?: string): Command => ({ what, shell: cmd, when });

/** The shell form of a SQL step, as an engineer pastes it. */
export const shellOf = (command: Command) =>
  "shell" in command
    ? command.shell
    : `docker exec k2-clickhouse clickhouse-client --query "${command.sql.replace(/"/g, '\\"')}"`;

/** Newest trade per exchange and trades in the last minute, from silver. */
const flowSql = (names: Names) =>
  `SELECT ${names.exchange} AS exchange, max(${names.exchangeTime}) AS newest, ` +
  `countIf(${names.processed} > now() - 60) AS last_min ` +
  `FROM ${names.database}.${names.silver} WHERE ${names.exchangeTime} > now() - INTERVAL 10 MINUTE GROUP BY exchange`;

/** One exchange (or any) landed a trade within the window (two flush intervals: a block lands every interval). */
const flowingSql = (names: Names, exchange: string | null) =>
  `SELECT toUInt8(count() > 0) AS ok FROM ${names.database}.${names.silver} WHERE ${names.processed} > ` +
  `now() - ${names.windowS}` +
  (exchange ? ` AND ${names.exchange} = '${exchange}'` : "");

export function runbooks(names: Names): Runbook[] {
  const db = names.database;
  return [
    {
      name: "feed-handler-crash",
      file: "feed-handler-crash-runbook.md",
      title: "Feed handler crash",
      mttrTargetMs: RUNBOOK_MTTR_MS["feed-handler-crash"],
      test: "feed-handler-crash",
      fault: "docker stop k2-feed-handler-binance",
      containers: ["k2-feed-handler-binance", "k2-feed-handler-kraken", "k2-feed-handler-coinbase"],
      alerts: ["FeedHandlerDown"],
      rows: ["Feed handlers"],
      metrics: [
        "k2_trades_newest_timestamp_seconds",
        "k2_trades_landed_total",
        "redpanda_kafka_records_produced_total",
      ],
      diagnosis: [
        sh("Which handler is down", "docker ps -a --filter name=k2-feed-handler --format '{{.Names}} {{.Status}}'"),
        sh(
          "Why it stopped (exit code, OOM)",
          "docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}}' k2-feed-handler-binance",
        ),
        sh("Its last words", "docker logs --tail 50 k2-feed-handler-binance"),
        sql("Which exchanges still land trades", flowSql(names)),
      ],
      resolution: [
        sh("Start the handler", "docker start k2-feed-handler-binance"),
        sh(
          "Recreate it instead (a restart keeps the old file)",
          "docker compose -f docker-compose.v2.yml up -d --force-recreate --no-deps feed-handler-binance",
          "config/instruments.yaml was edited",
        ),
        sql("Confirm binance lands trades again", flowingSql(names, "binance")),
      ],
      verify: { what: "binance lands trades", sql: flowingSql(names, "binance") },
      drillWhen: [],
      gotchas: [
        "After editing config/instruments.yaml, `docker restart` keeps the old file (its inode is re-mounted only on " +
          "recreate): use `docker compose up -d --force-recreate --no-deps feed-handler-<exchange>`.",
      ],
    },
    {
      name: "clickhouse-unavailable",
      file: "clickhouse-unavailable-runbook.md",
      title: "ClickHouse unavailable",
      mttrTargetMs: RUNBOOK_MTTR_MS["clickhouse-unavailable"],
      test: "network-partition",
      fault: `docker network disconnect ${names.network} k2-clickhouse`,
      containers: ["k2-clickhouse"],
      alerts: ["ClickHouseBronzeInsertFailure", "RedpandaConsumerLagHigh", "ServiceOOMKill"],
      rows: ["ClickHouse pipeline", "Redpanda lag"],
      metrics: ["ClickHouseProfileEvents_FailedInsertQuery", "redpanda_kafka_consumer_group_lag_max"],
      diagnosis: [
        sh(
          "Is it running, restarting, OOM-killed",
          "docker inspect -f '{{.State.Status}} {{.RestartCount}} {{.State.OOMKilled}}' k2-clickhouse",
        ),
        sh("Is it on the compose network", `docker inspect -f '{{json .NetworkSettings.Networks}}' k2-clickhouse`),
        sh("Its errors", "docker logs --tail 100 k2-clickhouse"),
        sql(
          "Kafka engine consumers",
          "SELECT database, table, num_messages_read, last_poll_time FROM system.kafka_consumers",
        ),
        sql("Trades landing now", flowSql(names)),
      ],
      resolution: [
        sh(
          "Put it back on the network with its compose address and alias (others reach it as clickhouse)",
          reconnectCommand(names.network, "k2-clickhouse"),
          "it is off the network",
        ),
        sh("Start it", "docker start k2-clickhouse"),
        sql("Confirm trades land again (the consumers resume from their committed offsets)", flowingSql(names, null)),
      ],
      verify: { what: "trades land", sql: flowingSql(names, null) },
      drillWhen: ["it is off the network"],
      gotchas: [
        "A restart does not lose trades: the Kafka engine resumes from its committed offsets; expect the backlog to " +
          "land at once, and MVProcessingDelay to fire briefly.",
      ],
    },
    {
      name: "redpanda-restart",
      file: "redpanda-restart-runbook.md",
      title: "Redpanda restart",
      mttrTargetMs: RUNBOOK_MTTR_MS["redpanda-restart"],
      test: "redpanda-restart",
      fault: "docker restart k2-redpanda",
      containers: ["k2-redpanda"],
      alerts: ["RedpandaConsumerLagHigh", "FeedHandlerDown"],
      rows: ["Redpanda lag", "Feed handlers"],
      metrics: ["redpanda_kafka_consumer_group_lag_max", "redpanda_kafka_records_produced_total"],
      diagnosis: [
        sh("Is the broker healthy", "docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' k2-redpanda"),
        sh("Cluster health", "docker exec k2-redpanda rpk cluster health"),
        sh("Consumer groups and lag", "docker exec k2-redpanda rpk group list"),
        sql("Trades landing now", flowSql(names)),
      ],
      resolution: [
        sh("Start the broker if it is down", "docker start k2-redpanda"),
        sh(
          "Restart the handlers if they gave up reconnecting",
          "docker restart k2-feed-handler-binance k2-feed-handler-kraken k2-feed-handler-coinbase",
          "a handler logs it gave up",
        ),
        sql("Confirm trades land again", flowingSql(names, null)),
      ],
      verify: { what: "trades land", sql: flowingSql(names, null) },
      drillWhen: [],
      gotchas: ["k2-redpanda-init exits by design after creating the topics: it is not down."],
    },
    {
      name: "silver-mv-stall",
      file: "silver-mv-stall-runbook.md",
      title: "Silver materialized view stall",
      mttrTargetMs: RUNBOOK_MTTR_MS["silver-mv-stall"],
      test: null,
      fault: `DETACH TABLE ${db}.${names.silverMv} (the view stops; bronze keeps filling)`,
      sqlFault: {
        apply: `DETACH TABLE ${db}.${names.silverMv}`,
        clear: `ATTACH TABLE IF NOT EXISTS ${db}.${names.silverMv}`,
      },
      containers: ["k2-clickhouse"],
      alerts: ["MVProcessingDelay", "FeedHandlerDown"],
      rows: ["ClickHouse pipeline"],
      metrics: ["k2_ingestion_delay_avg_seconds", "k2_ingestion_delay_p99_seconds"],
      diagnosis: [
        sql("Newest trade in silver per exchange", flowSql(names)),
        sql(
          "The views and their state",
          `SELECT name, engine FROM system.tables WHERE database = '${db}' AND engine = 'MaterializedView'`,
        ),
        sh("MV errors in the server log", "docker logs --tail 200 k2-clickhouse 2>&1 | grep -i -E 'materialized|MV'"),
      ],
      resolution: [
        sql("Re-attach a detached view", `ATTACH TABLE ${db}.${names.silverMv}`, "the view is missing above"),
        sh(
          "Restart ClickHouse if the views are there but stuck",
          "docker restart k2-clickhouse",
          "the views are all there",
        ),
        sql("Confirm silver fills again", flowingSql(names, "binance")),
      ],
      verify: { what: "binance reaches silver", sql: flowingSql(names, "binance") },
      drillWhen: ["the view is missing above"],
      gotchas: [
        "Trades that reached bronze while the view was detached are not in silver: backfill with INSERT INTO " +
          `${db}.${names.silver} SELECT ... FROM ${db}.bronze_trades_binance WHERE the gap's window.`,
      ],
    },
    {
      name: "minio-unavailable",
      file: "minio-unavailable-runbook.md",
      title: "MinIO unavailable",
      mttrTargetMs: RUNBOOK_MTTR_MS["minio-unavailable"],
      test: "minio-unavailable",
      fault: "docker stop k2-minio",
      containers: ["k2-minio", "k2-spark-iceberg"],
      alerts: ["IcebergOffloadFailure", "IcebergOffloadLag"],
      rows: ["Iceberg offload"],
      metrics: ["k2_offload_consecutive_failures", "k2_offload_lag_minutes"],
      diagnosis: [
        sh("Is MinIO up", "docker inspect -f '{{.State.Status}} {{.State.Health.Status}}' k2-minio"),
        watermarksStep(names),
        sh("The offload worker's log", "docker logs --tail 100 k2-prefect-worker"),
      ],
      resolution: [
        sh("Start MinIO", "docker start k2-minio"),
        names.watermarks === "postgres"
          ? sh(
              "Confirm the next offload run succeeds (the hot tier was never affected; runs come every 15 min)",
              `docker exec k2-prefect-db psql -U prefect -d prefect -tAc "SELECT count(*) > 0 FROM ` +
                `offload_watermarks WHERE status = 'success' AND last_successful_run > now() - interval '20 minutes'"`,
            )
          : sql("Confirm the next offload run succeeds (the hot tier was never affected)", offloadOkSql(db)),
      ],
      verify: { what: "an offload run succeeded after the restore", sql: offloadOkSql(db) },
      drillWhen: [],
      gotchas: ["Do not reset the watermark: the next run picks up exactly where the last success stopped."],
    },
  ];
}

/** The watermarks where the offload writes them: the Prefect DB's on a stack, ClickHouse's on the lab. */
const watermarksStep = (names: Names): Command =>
  names.watermarks === "postgres"
    ? sh(
        "The offload watermarks (the Prefect DB's: the offload writes only there)",
        `docker exec k2-prefect-db psql -U prefect -d prefect -c "SELECT table_name, last_offload_timestamp, ` +
          `last_successful_run, status, failure_count FROM offload_watermarks ORDER BY table_name"`,
      )
    : sql(
        "The offload watermarks",
        "SELECT table_name, last_offload_timestamp, status, failure_count FROM " +
          `${names.database}.offload_watermarks FINAL`,
      );

const offloadOkSql = (db: string) =>
  `SELECT toUInt8(countIf(status = 'success' AND last_successful_run > now() - 60) > 0) AS ok ` +
  `FROM ${db}.offload_watermarks FINAL`;
