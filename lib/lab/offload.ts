// The lab's offload job: the analogue of the 15-minute Spark/Iceberg offload, run every few
// seconds. A run copies silver rows past the watermark to a cold table and advances the
// watermark; it fails, without moving the watermark, when k2-spark-iceberg (the job's runner)
// or k2-minio (the cold store) is down. Where the watermark is kept is the store's: the Prefect
// DB's offload_watermarks (PostgreSQL), as K2's offload keeps it, with ClickHouse's copy seeded
// at 1970 and never updated, as K2's init scripts leave it; or, without PostgreSQL, ClickHouse's.
import { SQL } from "bun";
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
  /** the watermark the run left, in µs since the epoch */
  watermarkUs?: number;
};

const TABLE = "silver_trades";
/** A store's newest row for the offloaded table: times in µs since the epoch (0: never), exact in both stores. */
type Mark = { us: number; failures: number; successUs: number };
type Written = Mark & { rows: number; status: "success" | "failed" };

/** Where the lab's offload keeps its watermark: the FACTS.md columns, written as K2's offload writes them. */
export type LabWatermarkStore = {
  where: string;
  setup(): Promise<void>;
  last(): Promise<Mark>;
  write(w: Written): Promise<void>;
  close(): Promise<void>;
};

const CH_COLUMNS =
  "(table_name String, last_offload_timestamp DateTime64(6), last_offload_max_sequence UInt64, " +
  "last_offload_row_count UInt64, status String, failure_count UInt32, last_successful_run DateTime64(6), " +
  "updated_at DateTime64(6) DEFAULT now64(6)) ENGINE = ReplacingMergeTree(updated_at) ORDER BY table_name";
const chTime = (us: number) => `fromUnixTimestamp64Micro(toInt64(${Math.trunc(us)}))`;

/** ClickHouse's offload_watermarks in the lab's database, read and written by the job (the lab without PostgreSQL). */
export function clickhouseStore(target: Target): LabWatermarkStore {
  const where = `${target.database}.offload_watermarks`;
  return {
    where: `ClickHouse ${where}`,
    setup: () => target.command(`CREATE TABLE IF NOT EXISTS ${where} ${CH_COLUMNS}`),
    async last() {
      const [m] = await target.query<{ us: string; failures: number; success: string }>(
        "SELECT toString(toUnixTimestamp64Micro(argMax(last_offload_timestamp, updated_at))) AS us, " +
          "argMax(failure_count, updated_at) AS failures, " +
          `toString(toUnixTimestamp64Micro(argMax(last_successful_run, updated_at))) AS success FROM ${where} ` +
          `WHERE table_name = '${TABLE}'`,
      );
      return { us: Number(m?.us ?? 0), failures: Number(m?.failures ?? 0), successUs: Number(m?.success ?? 0) };
    },
    write: (w) =>
      target.command(
        `INSERT INTO ${where} (table_name, last_offload_timestamp, last_offload_max_sequence, ` +
          `last_offload_row_count, status, failure_count, last_successful_run) ` +
          `SELECT '${TABLE}', ${chTime(w.us)}, 0, ${w.rows}, ` +
          `'${w.status}', ${w.failures}, ${chTime(w.successUs)}`,
      ),
    close: async () => {},
  };
}

/**
 * The Prefect DB's offload_watermarks (a PostgreSQL the lab started, lib/io/postgres.ts), upserted per table as K2's
 * offload does, with ClickHouse's copy beside it at 1970, status initialized, never written again: both stores a
 * deployed stack has, the live one and the stale one, so that every reader has to tell them apart.
 */
export function postgresStore(url: string, target: Target): LabWatermarkStore {
  const sql = new SQL(url, { max: 1 });
  const at = (us: number) => sql`'epoch'::timestamptz + ${Math.trunc(us)}::bigint * interval '1 microsecond'`;
  const us = (c: string) => sql`coalesce((extract(epoch FROM ${sql(c)}) * 1000000)::bigint, 0)`;
  const stale = `${target.database}.offload_watermarks`;
  return {
    where: "PostgreSQL offload_watermarks",
    async setup() {
      await sql`CREATE TABLE IF NOT EXISTS offload_watermarks (table_name text PRIMARY KEY,
        last_offload_timestamp timestamptz, last_offload_max_sequence bigint, last_offload_row_count bigint,
        status text, failure_count int DEFAULT 0, last_successful_run timestamptz, last_run_duration_seconds int,
        last_error_message text, created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now())`;
      // the lab's own database: a copy left live by a lab run without PostgreSQL is made stale again
      await target.command(`DROP TABLE IF EXISTS ${stale}`);
      await target.command(`CREATE TABLE ${stale} ${CH_COLUMNS}`);
      await target.command(
        `INSERT INTO ${stale} (table_name, last_offload_timestamp, last_offload_max_sequence, ` +
          `last_offload_row_count, status, failure_count, last_successful_run, updated_at) ` +
          `SELECT '${TABLE}', ${chTime(0)}, 0, 0, ` +
          `'initialized', 0, ${chTime(0)}, ${chTime(0)}`,
      );
    },
    async last() {
      const [m] = await sql`SELECT ${us("last_offload_timestamp")}::text AS us, failure_count AS failures,
        ${us("last_successful_run")}::text AS success FROM offload_watermarks WHERE table_name = ${TABLE}`;
      return { us: Number(m?.us ?? 0), failures: Number(m?.failures ?? 0), successUs: Number(m?.success ?? 0) };
    },
    async write(w) {
      const error = w.status === "failed" ? "the offload's runner or cold store is down" : null;
      await sql`INSERT INTO offload_watermarks (table_name, last_offload_timestamp, last_offload_max_sequence,
          last_offload_row_count, status, failure_count, last_successful_run, last_error_message)
        VALUES (${TABLE}, ${at(w.us)}, 0, ${w.rows}, ${w.status}, ${w.failures}, ${at(w.successUs)}, ${error})
        ON CONFLICT (table_name) DO UPDATE SET last_offload_timestamp = excluded.last_offload_timestamp,
          last_offload_row_count = excluded.last_offload_row_count, status = excluded.status,
          failure_count = excluded.failure_count, last_successful_run = excluded.last_successful_run,
          last_error_message = excluded.last_error_message, updated_at = now()`;
    },
    close: () => sql.close(),
  };
}

export class LabOffload {
  readonly runs: OffloadRun[] = [];
  /** a live fault: every run fails with this reason, the watermark unmoved, until it is cleared */
  fault?: string;
  private timer?: Timer;
  private current?: Promise<OffloadRun>;
  readonly store: LabWatermarkStore;
  constructor(
    private target: Target,
    private docker: DockerTarget | null,
    readonly everyMs = 3000,
    store?: LabWatermarkStore,
  ) {
    this.store = store ?? clickhouseStore(target);
  }

  async setup() {
    await this.store.setup();
    await this.target.command(
      `CREATE TABLE IF NOT EXISTS ${LAB_TRUTH_DB}.cold_trades (message_id UUID, exchange String, symbol String, ` +
        "seq UInt64, processed_at DateTime64(6)) ENGINE = MergeTree ORDER BY (exchange, processed_at)",
    );
    return this;
  }
  /**
   * Exactly once: every silver row up to the final watermark is in the cold table, once. The store's latest
   * watermark, whatever its status: a failed run keeps the last success's.
   */
  async exactlyOnceSql() {
    const { us } = await this.store.last();
    return `SELECT (SELECT count() FROM ${LAB_TRUTH_DB}.cold_trades) AS cold, (SELECT uniqExact(message_id) FROM
      ${LAB_TRUTH_DB}.cold_trades) AS distinct_cold,
      (SELECT count() FROM ${this.target.database}.silver_trades WHERE processed_at <= ${chTime(us)}) AS expected`;
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
      const last = await this.store.last();
      const down = this.fault ? [this.fault] : await this.downDependencies();
      if (down.length) {
        // a failed run keeps the watermark and the last successful run's time, as the offload's own store does
        await this.store.write({ ...last, rows: 0, status: "failed", failures: last.failures + 1 });
        const reason = this.fault ?? `${down.join(", ")} not running`;
        return this.note({ at: Date.now(), startedAt, ok: false, reason });
      }
      // Up to two seconds ago: inserts still in flight have stamped processed_at already but are not visible yet.
      const [{ upto, now }] = (await this.target.query<{ upto: string; now: string }>(
        "SELECT toString(toUnixTimestamp64Micro(now64(6) - INTERVAL 2 SECOND)) AS upto, " +
          "toString(toUnixTimestamp64Micro(now64(6))) AS now",
      )) as [{ upto: string; now: string }];
      const window = `processed_at > ${chTime(last.us)} AND processed_at <= ${chTime(Number(upto))}`;
      await this.target.command(
        `INSERT INTO ${LAB_TRUTH_DB}.cold_trades SELECT message_id, exchange, symbol, ` +
          `ifNull(source_sequence, 0), processed_at FROM ${db}.silver_trades WHERE ${window}`,
      );
      const [{ n }] = (await this.target.query<{ n: number }>(
        `SELECT count() AS n FROM ${db}.silver_trades WHERE ${window}`,
      )) as [{ n: number }];
      await this.store.write({
        us: Number(upto),
        successUs: Number(now),
        rows: Number(n),
        status: "success",
        failures: 0,
      });
      return this.note({ at: Date.now(), startedAt, ok: true, rows: Number(n), watermarkUs: Number(upto) });
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
