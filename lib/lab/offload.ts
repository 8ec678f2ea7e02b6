// The lab's offload job: the analogue of the 15-minute Spark/Iceberg offload, run every few
// seconds. A run copies silver rows past the watermark to a cold table and advances the
// watermark (ClickHouse offload_watermarks, the FACTS.md columns); it fails, without moving
// the watermark, when k2-spark-iceberg (the job's runner) or k2-minio (the cold store) is down.
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { LAB_TRUTH_DB } from "./schema.ts";

/** One run: when it began (and read whether its dependencies were up) and when it ended. */
export type OffloadRun = {
  at: number;
  startedAt: number;
  ok: boolean;
  reason?: string;
  rows?: number;
  watermark?: string;
};

export class LabOffload {
  readonly runs: OffloadRun[] = [];
  /** a live fault: every run fails with this reason, the watermark unmoved, until it is cleared */
  fault?: string;
  private timer?: Timer;
  private current?: Promise<OffloadRun>;
  constructor(
    private target: Target,
    private docker: DockerTarget | null,
    readonly everyMs = 3000,
  ) {}

  async setup() {
    const db = this.target.database;
    await this.target.command(
      `CREATE TABLE IF NOT EXISTS ${db}.offload_watermarks (table_name String, ` +
        `last_offload_timestamp DateTime64(6), last_offload_max_sequence UInt64,
      last_offload_row_count UInt64, status String, failure_count UInt32, last_successful_run DateTime64(6),
        updated_at DateTime64(6) DEFAULT now64(6))
      ENGINE = ReplacingMergeTree(updated_at) ORDER BY table_name`,
    );
    await this.target.command(
      `CREATE TABLE IF NOT EXISTS ${LAB_TRUTH_DB}.cold_trades (message_id UUID, exchange String, symbol String, ` +
        "seq UInt64, " +
        `processed_at DateTime64(6)) ENGINE = MergeTree ORDER BY (exchange, processed_at)`,
    );
    return this;
  }
  /** The exactly-once check over everything this job offloaded so far (exactlyOnceSql below). */
  exactlyOnceSql() {
    return exactlyOnceSql(this.target.database);
  }
  start() {
    // the timer skips a tick while a run is going; a caller's runOnce() waits for it and then runs
    this.timer = setInterval(() => void (this.current ?? this.run()), this.everyMs);
    return this;
  }
  stop() {
    clearInterval(this.timer);
  }

  /** One run after any run in flight has finished: what a settle before a check needs. */
  async runOnce(): Promise<OffloadRun> {
    while (this.current) await this.current;
    return this.run();
  }

  private run(): Promise<OffloadRun> {
    const p = this.attempt().finally(() => {
      if (this.current === p) this.current = undefined;
    });
    this.current = p;
    return p;
  }

  private async attempt(): Promise<OffloadRun> {
    const startedAt = Date.now();
    const db = this.target.database;
    try {
      const [wm] = await this.target.query<{ ts: string; failures: number; success: string }>(
        `SELECT toString(argMax(last_offload_timestamp, updated_at)) AS ts, argMax(failure_count, updated_at) AS ` +
          `failures, toString(argMax(last_successful_run, updated_at)) AS success FROM ${db}.offload_watermarks ` +
          "WHERE table_name = 'silver_trades'",
      );
      const from =
        wm?.ts && wm.ts !== "1970-01-01 00:00:00.000000" ? `toDateTime64('${wm.ts}', 6)` : "toDateTime64(0, 6)";
      // a failed run keeps the last successful run's time, as the offload's own store does
      const lastSuccess = wm?.success ? `toDateTime64('${wm.success}', 6)` : "toDateTime64(0, 6)";
      const down = this.fault ? [this.fault] : await this.downDependencies();
      if (down.length) {
        await this.target.command(
          `INSERT INTO ${db}.offload_watermarks (table_name, last_offload_timestamp, ` +
            `last_offload_max_sequence, last_offload_row_count, status, failure_count, last_successful_run)
          SELECT 'silver_trades', ${from}, 0, 0, 'failed', ${Number(wm?.failures ?? 0) + 1}, ${lastSuccess}`,
        );
        const reason = this.fault ?? `${down.join(", ")} not running`;
        return this.note({ at: Date.now(), startedAt, ok: false, reason });
      }
      // Up to two seconds ago: inserts still in flight have stamped processed_at already but are not visible yet.
      const [{ upto }] = (await this.target.query<{ upto: string }>(
        "SELECT toString(now64(6) - INTERVAL 2 SECOND) AS upto",
      )) as [{ upto: string }];
      await this.target.command(
        `INSERT INTO ${LAB_TRUTH_DB}.cold_trades SELECT message_id, exchange, symbol, ` +
          `ifNull(source_sequence, 0), processed_at FROM ${db}.silver_trades
        WHERE processed_at > ${from} AND processed_at <= toDateTime64('${upto}', 6)`,
      );
      const [{ n }] = (await this.target.query<{ n: number }>(
        `SELECT count() AS n FROM ${db}.silver_trades WHERE processed_at > ${from} AND processed_at <= ` +
          `toDateTime64('${upto}', 6)`,
      )) as [{ n: number }];
      await this.target.command(
        `INSERT INTO ${db}.offload_watermarks (table_name, last_offload_timestamp, ` +
          `last_offload_max_sequence, last_offload_row_count, status, failure_count, last_successful_run)
        VALUES ('silver_trades', toDateTime64('${upto}', 6), 0, ${Number(n)}, 'success', 0, now64(6))`,
      );
      return this.note({ at: Date.now(), startedAt, ok: true, rows: Number(n), watermark: upto });
    } catch (e) {
      return this.note({ at: Date.now(), startedAt, ok: false, reason: e instanceof Error ? e.message : String(e) });
    }
  }

  private note(run: OffloadRun) {
    this.runs.push(run);
    return run;
  }
  private async downDependencies(): Promise<string[]> {
    if (!this.docker) return [];
    const down: string[] = [];
    for (const name of ["k2-spark-iceberg", "k2-minio"]) {
      const i = await this.docker.docker
        .getContainer(name)
        .inspect()
        .catch(() => undefined); // not there or not answering: down, which is what this asks
      if (!i?.State.Running || i.State.Paused) down.push(name);
    }
    return down;
  }
}

/**
 * Exactly once: every silver row up to the final watermark is in the cold table, once. The latest row's watermark,
 * whatever its status: a failed run keeps the last success's, and merges may already have replaced older rows.
 */
function exactlyOnceSql(database: string): string {
  return `SELECT (SELECT count() FROM ${LAB_TRUTH_DB}.cold_trades) AS cold, (SELECT uniqExact(message_id) FROM
    ${LAB_TRUTH_DB}.cold_trades) AS distinct_cold,
    (SELECT count() FROM ${database}.silver_trades WHERE processed_at <= (SELECT argMax(last_offload_timestamp,
      updated_at) FROM ${database}.offload_watermarks WHERE table_name = 'silver_trades')) AS expected`;
}
