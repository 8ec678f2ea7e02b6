// The pipeline exporter: the facts of the K2 pipeline no component exports today, as Prometheus metrics (prom-client),
// read at each scrape from their sources: ClickHouse silver (newest trade, trades landed, ingestion delay), the Kafka
// engine consumers and insert failures (ClickHouse system tables), the offload watermarks (ClickHouse or the Prefect
// DB), and the K2 containers (Docker inspect). Each source is read with a time bound; a source that fails or is slow
// makes its metrics absent and k2_exporter_source_up{source} 0, and the exporter keeps serving. No secret is read
// into a metric or a log line: errors are redacted.
import client from "prom-client";
import type { Db } from "../io/clickhouse.ts";
import { type DockerTarget, k2Containers, Overrun, withTimeout } from "../io/docker.ts";
import { freshnessMs, type WatermarkTable, watermarkSource } from "../io/watermarks.ts";
import type { K2Config } from "../k2/config.ts";
import { discoverWithObservation, type Mapping, silverOf } from "../k2/discovery.ts";
import { EXCHANGE_NAMES } from "../k2/stack.ts";
import { firstLine, redact } from "../runtime/errors.ts";
import {
  DELAY_WINDOW_MS,
  delaySql,
  INSERT_EVENTS_SQL,
  KAFKA_CONSUMERS_SQL,
  landedSql,
  NEWEST_LOOKBACK_MS,
  NEWEST_RECENT_MS,
  newestSql,
} from "./exporter-sql.ts";

export const SOURCES = ["silver", "kafka", "offload", "docker"] as const;
/** Scrapes in a row an overrunning source keeps its last answer's gauges (at the live fire's 2 s, 4 s). */
const OVERRUNS_KEPT = 2;
export type Source = (typeof SOURCES)[number];

export type ExporterDeps = {
  db: Db | null;
  database: string;
  config: K2Config;
  docker: DockerTarget | null;
  prefectDbUrl?: string;
  now?: () => number;
  /** each source's time bound per scrape */
  timeoutMs?: number;
  /** the window ingestion delay is averaged over (default a minute; a time-compressed live fire divides it) */
  delayWindowMs?: number;
};

type Labels = Record<string, string>;
type Samples = { name: string; labels: Labels; value: number }[];

const SILVER = "(ClickHouse silver, its discovered columns)";
const KAFKA = "(ClickHouse system.kafka_consumers)";
/** Each source's gauges: name, HELP naming where the value comes from, and labels. */
const GAUGES: Record<Source, [string, string, string[]][]> = {
  silver: [
    [
      "k2_trades_newest_timestamp_seconds",
      `Newest trade's landing time per exchange, within 6 h ${SILVER}`,
      ["exchange"],
    ],
    [
      "k2_ingestion_delay_avg_seconds",
      `Average ingestion minus exchange time, last minute's trades ${SILVER}`,
      ["exchange"],
    ],
    [
      "k2_ingestion_delay_p99_seconds",
      `p99 of ingestion minus exchange time, last minute's trades ${SILVER}`,
      ["exchange"],
    ],
  ],
  kafka: [
    [
      "k2_kafka_consumer_messages_read",
      `Messages a Kafka engine table's consumers have read, cumulative ${KAFKA}`,
      ["table"],
    ],
    [
      "k2_kafka_consumer_last_poll_timestamp_seconds",
      `Last poll of a Kafka engine table's consumers ${KAFKA}`,
      ["table"],
    ],
    ["k2_kafka_consumer_exceptions", `Exceptions a Kafka engine table's consumers hold ${KAFKA}`, ["table"]],
    [
      "k2_clickhouse_failed_insert_queries",
      "INSERT queries that failed since the server started (ClickHouse system.events FailedInsertQuery)",
      [],
    ],
    [
      "k2_clickhouse_kafka_messages_failed",
      "Kafka engine messages that failed to parse since the server started " +
        "(ClickHouse system.events KafkaMessagesFailed)",
      [],
    ],
  ],
  offload: [
    [
      "k2_offload_lag_minutes",
      "Minutes since a table's last successful offload run, else its watermark (offload_watermarks being written: " +
        "the Prefect DB's on a stack, where ClickHouse's copy is stale)",
      ["table"],
    ],
    [
      "k2_offload_consecutive_failures",
      "Failed offload runs of a table since its last success (offload_watermarks failure_count)",
      ["table"],
    ],
  ],
  docker: [
    ["k2_container_restart_count", "Docker's RestartCount per K2 container (docker inspect)", ["container"]],
    [
      "k2_container_oom_killed",
      "1 when Docker's State.OOMKilled is set for a K2 container (docker inspect)",
      ["container"],
    ],
  ],
};

/** The metrics in one registry: each source's gauges by name, the landed counter, and the exporter's own two. */
function define(registry: client.Registry) {
  const g = (name: string, help: string, labelNames: string[]) =>
    new client.Gauge({ name, help, labelNames, registers: [registry] });
  const bySource = Object.fromEntries(
    SOURCES.map((s) => [s, new Map(GAUGES[s].map(([name, help, labels]) => [name, g(name, help, labels)]))]),
  ) as Record<Source, Map<string, client.Gauge>>;
  return {
    bySource,
    landed: new client.Counter({
      name: "k2_trades_landed_total",
      help: `Trades landed in silver per exchange since the exporter started, counted by landing time ${SILVER}`,
      labelNames: ["exchange"],
      registers: [registry],
    }),
    up: g("k2_exporter_source_up", "1 when the exporter read the source within its time bound at the last scrape", [
      "source",
    ]),
    took: g("k2_exporter_source_duration_seconds", "Time the exporter spent reading the source at the last scrape", [
      "source",
    ]),
  };
}

/**
 * How long the sources may take for one scrape: Prometheus sends its scrape timeout with every scrape
 * (X-Prometheus-Scrape-Timeout-Seconds: "2", "10.5"); 80% of it, so the answer is written before Prometheus gives up
 * (a scrape that times out makes every metric absent, and every absent() guard fires), at least 200 ms. Undefined
 * without the header (the exporter's own bound holds).
 */
export function scrapeBudgetMs(headers: Headers): number | undefined {
  const s = Number(headers.get("x-prometheus-scrape-timeout-seconds"));
  return Number.isFinite(s) && s > 0 ? Math.max(200, Math.round(s * 800)) : undefined;
}

export class PipelineExporter {
  readonly registry = new client.Registry();
  private readonly m = define(this.registry);
  private silver: Mapping | undefined;
  /** where ClickHouse's watermarks are, once found */
  private readonly watermarks: { table?: WatermarkTable } = {};
  private lastLandedMs: number;
  private readonly now: () => number;
  get delayWindowMs() {
    return this.deps.delayWindowMs ?? DELAY_WINDOW_MS;
  }
  /** the last error per source, for the log (redacted) */
  readonly errors = new Map<Source, string>();
  /** each source's last answer, and how many scrapes in a row it has overrun since */
  private readonly last = new Map<Source, { samples: Samples; overruns: number }>();

  constructor(private readonly deps: ExporterDeps) {
    this.now = deps.now ?? Date.now;
    this.lastLandedMs = this.now();
  }

  /**
   * Read every source (concurrently, each bounded by `budgetMs`, else the configured bound), update the metrics, and
   * return the exposition text. A source that fails is absent. One that overruns (slow, not failed: a loaded engine)
   * keeps its last answer's gauges for up to OVERRUNS_KEPT scrapes in a row, with k2_exporter_source_up 0, then is
   * absent: one slow scrape does not set off every absent() guard, and a source that stays slow still does.
   */
  async scrape(budgetMs?: number): Promise<string> {
    const boundMs = Math.min(this.deps.timeoutMs ?? 3000, budgetMs ?? Infinity);
    const readers: Record<Source, () => Promise<Samples>> = {
      silver: () => this.readSilver(),
      kafka: () => this.readKafka(),
      offload: () => this.readOffload(),
      docker: () => this.readDocker(),
    };
    await Promise.all(
      SOURCES.map(async (s) => {
        const t0 = performance.now();
        const got = await withTimeout(readers[s](), boundMs).then(
          (v) => v,
          (e: unknown) => e as Error,
        );
        this.m.took.set({ source: s }, (performance.now() - t0) / 1000);
        this.m.up.set({ source: s }, got instanceof Error ? 0 : 1);
        if (got instanceof Error) this.errors.set(s, redact(firstLine(got)));
        else {
          this.errors.delete(s);
          this.last.set(s, { samples: got, overruns: 0 });
        }
        this.apply(s, got instanceof Error ? this.kept(s, got) : got);
      }),
    );
    return this.registry.metrics();
  }

  /**
   * What an unanswered source shows: after an overrun, its last answer's gauges (counters are never counted twice)
   * while it has overrun at most OVERRUNS_KEPT scrapes in a row; after a failure, or longer, nothing.
   */
  private kept(source: Source, error: Error): Samples | null {
    const last = this.last.get(source);
    if (!last || !(error instanceof Overrun) || last.overruns >= OVERRUNS_KEPT) {
      this.last.delete(source);
      return null;
    }
    last.overruns++;
    return last.samples.filter((x) => x.name !== "k2_trades_landed_total");
  }

  /** A source's gauges replaced by what it read (remembered for kept()); with null, removed (absent). */
  private apply(source: Source, samples: Samples | null) {
    const gauges = this.m.bySource[source];
    for (const g of gauges.values()) g.reset();
    for (const x of samples ?? []) {
      if (x.name === "k2_trades_landed_total") this.m.landed.inc(x.labels, x.value);
      else gauges.get(x.name)!.set(x.labels, x.value);
    }
  }

  private async mapping(): Promise<Mapping> {
    return (this.silver ??= silverOf(await discoverWithObservation(this.need(), this.deps.database, this.deps.config)));
  }
  private need(): Db {
    if (!this.deps.db) throw new Error("no ClickHouse target");
    return this.deps.db;
  }

  private async readSilver(): Promise<Samples> {
    const m = await this.mapping(),
      db = this.need(),
      now = this.now();
    const newestIn = (ms: number) => db.query<{ exchange: string; newest_s: number }>(newestSql(m, now, ms));
    const [recent, landed, delay] = await Promise.all([
      newestIn(NEWEST_RECENT_MS),
      db.query<{ exchange: string; n: number }>(landedSql(m, this.lastLandedMs, now)),
      db.query<{ exchange: string; avg_s: number; p99_s: number }>(delaySql(m, now, this.deps.delayWindowMs)),
    ]);
    this.lastLandedMs = now;
    // only an exchange with nothing in the last minutes costs the longer look back
    const newest = recent.length < EXCHANGE_NAMES.length ? await newestIn(NEWEST_LOOKBACK_MS) : recent;
    // an exchange with no trade in the lookback is reported at the lookback's start: at least that old, never absent
    const floor = (now - NEWEST_LOOKBACK_MS) / 1000;
    return [
      ...EXCHANGE_NAMES.map((e) => ({
        name: "k2_trades_newest_timestamp_seconds",
        labels: { exchange: e },
        value: Number(newest.find((r) => r.exchange === e)?.newest_s ?? floor),
      })),
      ...landed.map((r) => ({ name: "k2_trades_landed_total", labels: { exchange: r.exchange }, value: Number(r.n) })),
      ...delay.flatMap((r) => [
        { name: "k2_ingestion_delay_avg_seconds", labels: { exchange: r.exchange }, value: Number(r.avg_s) },
        { name: "k2_ingestion_delay_p99_seconds", labels: { exchange: r.exchange }, value: Number(r.p99_s) },
      ]),
    ];
  }

  private async readKafka(): Promise<Samples> {
    const db = this.need();
    const [consumers, events] = await Promise.all([
      db.query<{ table: string; messages: number; last_poll_s: number; exceptions: number }>(KAFKA_CONSUMERS_SQL),
      db.query<{ event: string; value: number }>(INSERT_EVENTS_SQL),
    ]);
    const ev = (e: string) => Number(events.find((x) => x.event === e)?.value ?? 0);
    return [
      ...consumers.flatMap((c) => [
        { name: "k2_kafka_consumer_messages_read", labels: { table: c.table }, value: Number(c.messages) },
        {
          name: "k2_kafka_consumer_last_poll_timestamp_seconds",
          labels: { table: c.table },
          value: Number(c.last_poll_s),
        },
        { name: "k2_kafka_consumer_exceptions", labels: { table: c.table }, value: Number(c.exceptions) },
      ]),
      { name: "k2_clickhouse_failed_insert_queries", labels: {}, value: ev("FailedInsertQuery") },
      { name: "k2_clickhouse_kafka_messages_failed", labels: {}, value: ev("KafkaMessagesFailed") },
    ];
  }

  private async readOffload(): Promise<Samples> {
    const src = await watermarkSource(this.need(), this.deps.database, this.deps.prefectDbUrl, this.watermarks);
    if (!src) throw new Error("no offload_watermarks table in ClickHouse and PREFECT_DB_URL is not set");
    const now = this.now();
    return src.rows.flatMap((r) => [
      // since the last successful run (a gold table's watermark is a window start: ohlcv_1d's lags a day by design)
      { name: "k2_offload_lag_minutes", labels: { table: r.table }, value: (now - freshnessMs(r)) / 60_000 },
      ...(r.failures === null || r.failures === undefined
        ? []
        : [{ name: "k2_offload_consecutive_failures", labels: { table: r.table }, value: Number(r.failures) }]),
    ]);
  }

  private async readDocker(): Promise<Samples> {
    if (!this.deps.docker) throw new Error("no Docker engine");
    const list = await k2Containers(this.deps.docker);
    return list.flatMap((c) => [
      { name: "k2_container_restart_count", labels: { container: c.name }, value: c.restartCount },
      { name: "k2_container_oom_killed", labels: { container: c.name }, value: c.oomKilled ? 1 : 0 },
    ]);
  }
}
