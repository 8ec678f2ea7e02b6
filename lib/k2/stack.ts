// The K2 stack as FACTS.md gives it: services, containers, labels, compose limits and the
// Phase 7 budgets. Notebooks take their expected set and budgets from here unless
// k2.config.json overrides them.
export type Service = {
  service: string;
  container: string;
  /** compose's `com.k2.service` label: the service's role (feed-handler, streaming, storage, ...) */
  role: string;
  /** compose's `com.k2.tier` label (hot, warm, cold, control-plane, observability, management); handlers carry none */
  tier?: string;
  exchange?: string;
  limit: { cpu: number; memMb: number }; // docker-compose.v2.yml deploy limits
  budget?: { cpu: number; memMb: number }; // Phase 7 budget (absent: not in budget)
  /** compose's healthcheck, when the service has one */
  healthcheck?: Healthcheck;
  oneShot?: boolean; // exits by design (not "down")
  /** compose's fixed address on k2-net (the rest get one from the subnet); the service name is its alias */
  ipv4?: string;
};

/** A compose healthcheck: the command Docker runs in the container, and its timing (seconds). */
export type Healthcheck = {
  test: string[];
  intervalS: number;
  timeoutS: number;
  retries: number;
  startPeriodS: number;
};
const check = (test: string[], intervalS: number, timeoutS: number, retries: number, startPeriodS: number) => ({
  test,
  intervalS,
  timeoutS,
  retries,
  startPeriodS,
});
/** Each handler's check: its JVM is running. */
const HANDLER_CHECK = check(["CMD", "pgrep", "-f", "java"], 15, 5, 3, 30);
const web = (port: number, path: string, intervalS: number, startPeriodS: number) =>
  check(["CMD", "wget", "--spider", "-q", `http://localhost:${port}${path}`], intervalS, 5, 3, startPeriodS);

/** Compose's network: declared `k2-net` (the engine names it `<project>_k2-net`) on this subnet. */
export const COMPOSE_SUBNET = "172.28.0.0/16";

const G = 1024;
export const SERVICES: Service[] = [
  {
    service: "feed-handler-binance",
    container: "k2-feed-handler-binance",
    ipv4: "172.28.0.50",
    role: "feed-handler",
    exchange: "binance",
    limit: { cpu: 0.5, memMb: 512 },
    budget: { cpu: 0.5, memMb: 256 },
    healthcheck: HANDLER_CHECK,
  },
  {
    service: "feed-handler-kraken",
    container: "k2-feed-handler-kraken",
    ipv4: "172.28.0.51",
    role: "feed-handler",
    exchange: "kraken",
    limit: { cpu: 0.5, memMb: 512 },
    budget: { cpu: 0.5, memMb: 256 },
    healthcheck: HANDLER_CHECK,
  },
  {
    service: "feed-handler-coinbase",
    container: "k2-feed-handler-coinbase",
    role: "feed-handler",
    exchange: "coinbase",
    limit: { cpu: 0.5, memMb: 512 },
    budget: { cpu: 0.5, memMb: 256 },
    healthcheck: HANDLER_CHECK,
  },
  {
    service: "redpanda",
    container: "k2-redpanda",
    ipv4: "172.28.0.10",
    role: "streaming",
    tier: "hot",
    limit: { cpu: 2, memMb: 2 * G },
    budget: { cpu: 2, memMb: 4 * G },
    healthcheck: check(["CMD-SHELL", "rpk cluster health | grep -q 'Healthy'"], 15, 10, 5, 30),
  },
  {
    service: "redpanda-init",
    container: "k2-redpanda-init",
    role: "streaming",
    tier: "hot",
    limit: { cpu: 0.5, memMb: 256 },
    oneShot: true,
  },
  {
    service: "clickhouse",
    container: "k2-clickhouse",
    ipv4: "172.28.0.20",
    role: "storage",
    tier: "warm",
    limit: { cpu: 4, memMb: 8 * G },
    budget: { cpu: 4, memMb: 8 * G },
    healthcheck: check(["CMD", "clickhouse-client", "--query", "SELECT 1"], 15, 10, 5, 30),
  },
  {
    service: "spark-iceberg",
    container: "k2-spark-iceberg",
    ipv4: "172.28.0.40",
    role: "etl",
    tier: "cold",
    limit: { cpu: 2, memMb: 4 * G },
    budget: { cpu: 2, memMb: 4 * G },
  },
  {
    service: "prefect-server",
    container: "k2-prefect-server",
    ipv4: "172.28.0.31",
    role: "orchestration",
    tier: "control-plane",
    limit: { cpu: 1, memMb: G },
    budget: { cpu: 0.5, memMb: 512 },
    healthcheck: check(
      ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:4200/api/health')"],
      15,
      10,
      5,
      30,
    ),
  },
  {
    service: "prefect-worker",
    container: "k2-prefect-worker",
    role: "orchestration",
    tier: "control-plane",
    limit: { cpu: 0.5, memMb: 512 },
    budget: { cpu: 0.5, memMb: 512 },
  },
  {
    service: "prefect-db",
    container: "k2-prefect-db",
    ipv4: "172.28.0.30",
    role: "orchestration",
    tier: "control-plane",
    limit: { cpu: 1, memMb: G },
    budget: { cpu: 0.5, memMb: 512 },
    healthcheck: check(["CMD-SHELL", "pg_isready -U prefect"], 10, 5, 5, 10),
  },
  {
    service: "minio",
    container: "k2-minio",
    ipv4: "172.28.0.21",
    role: "storage",
    tier: "cold",
    limit: { cpu: 1, memMb: G },
    budget: { cpu: 0.5, memMb: G },
    healthcheck: check(["CMD-SHELL", "timeout 5s bash -c ':> /dev/tcp/127.0.0.1/9000' || exit 1"], 15, 10, 3, 10),
  },
  {
    service: "prometheus",
    container: "k2-prometheus",
    role: "monitoring",
    tier: "observability",
    limit: { cpu: 1, memMb: 2 * G },
    budget: { cpu: 0.5, memMb: 512 },
    healthcheck: web(9090, "/-/healthy", 15, 10),
  },
  {
    service: "grafana",
    container: "k2-grafana",
    role: "monitoring",
    tier: "observability",
    limit: { cpu: 0.5, memMb: 512 },
    budget: { cpu: 0.5, memMb: 256 },
    healthcheck: web(3000, "/api/health", 15, 15),
  },
  {
    service: "redpanda-console",
    container: "k2-redpanda-console",
    role: "ui",
    tier: "management",
    limit: { cpu: 0.5, memMb: 256 },
    healthcheck: web(8080, "/admin/health", 10, 10),
  },
];

/** iceberg-rest is budgeted (0.5 CPU / 512MB) but has no k2-* container in FACTS.md. */
export const UNCONTAINED_BUDGET = { service: "iceberg-rest", cpu: 0.5, memMb: 512 };
/** The phase plan quotes 19.5GB for the stack; the budget table's RAM column adds up to 21.75GB. */
export const STACK_BUDGET = { cpu: 15.5, memGbPlan: 19.5, memGbTable: 21.75 };

export const EXCHANGE_NAMES = ["binance", "kraken", "coinbase"] as const;
export type ExchangeName = (typeof EXCHANGE_NAMES)[number];
/** Each exchange's raw topic in Redpanda, as the feed handlers produce to it. */
export const topicOf = (exchange: ExchangeName) => `market.crypto.trades.${exchange}.raw`;
export const OFFLOAD_DEPLOYMENT = "iceberg-offload-15min";
/** The deployment as Prefect's API names it by flow (FACTS.md: a run can be started by hand through the API). */
export const OFFLOAD_FLOW_DEPLOYMENT = `iceberg-offload-main/${OFFLOAD_DEPLOYMENT}`;

/** K2's Prometheus (v3.2.0): scrape and rule evaluation every 15 s; each adds up to one interval to an alert. */
export const PROMETHEUS = { scrapeMs: 15_000, evalMs: 15_000 };

/**
 * The deployed schema's names for each exchange's Kafka engine table and the view that carries it into bronze
 * (Binance's queue is bronze_trades_binance_queue, the others' trades_<exchange>_queue; every view
 * bronze_trades_<exchange>_mv), so that a view or a Kafka table named like a trade table is met in the lab too.
 */
export const kafkaTableOf = (exchange: string) =>
  exchange === "binance" ? "bronze_trades_binance_queue" : `trades_${exchange}_queue`;
export const bronzeViewOf = (exchange: string) => `bronze_trades_${exchange}_mv`;

/**
 * K2's three Kafka engine tables (kafkaTableOf) are created with these settings: the engine flushes a block
 * when it holds max_block_size rows or when the interval ends, whichever comes first. A server's own values are read
 * from its schema (lib/k2/kafka.ts); these are the lab's defaults, so that the lab waits as K2 waits.
 */
export const KAFKA_ENGINE = { flushIntervalMs: 7500, maxBlockSize: 10_000, pollMaxBatchSize: 10_000 };
/** ClickHouse's stream_flush_interval_ms default: a Kafka table without kafka_flush_interval_ms flushes this often. */
export const CLICKHOUSE_STREAM_FLUSH_MS = 7500;

/**
 * How long `docker stop` and `restart` wait before SIGKILL: a container's own StopTimeout, which compose sets from
 * stop_grace_period; K2's compose sets none, so Docker's default, 10 s, as `docker compose restart` waits.
 */
export const STOP_GRACE_S = 10;
export const stopGraceSeconds = (config: object): number =>
  "StopTimeout" in config && typeof config.StopTimeout === "number" ? config.StopTimeout : STOP_GRACE_S;

/**
 * How each exchange numbers its trades (bronze `sequence_number`). Binance's trade id and Kraken's numbers count per
 * symbol. Coinbase's handler stores the message-level `sequence_num` for every trade of a message, counted across all
 * products on the connection: per symbol it shows gaps and repeats on a healthy feed, so its continuity is judged over
 * the whole connection, and a repeat is a trade of the same message, not a duplicate (a reconnect starts it again).
 */
export const SEQUENCE_SCOPE: Record<(typeof EXCHANGE_NAMES)[number], "symbol" | "connection"> = {
  binance: "symbol",
  kraken: "symbol",
  coinbase: "connection",
};
const perConnection = Object.entries(SEQUENCE_SCOPE)
  .filter(([, s]) => s === "connection")
  .map(([e]) => `'${e}'`)
  .join(", ");
/** The symbol a continuity row reports: the symbol, or for a per-connection exchange the whole connection. */
export const CONNECTION = "(connection)";
/** SQL over columns `exchange` and `symbol`: the run a row's sequence number belongs to. */
export const sequenceRunSql = (exchange: string, symbol: string) =>
  `if(${exchange} IN (${perConnection}), '${CONNECTION}', ${symbol})`;
/** SQL: what one trade is, so that a trade landed twice repeats it (per connection, a message's trades share seq). */
export const tradeKeySql = (exchange: string, seq: string, symbol: string, exchangeTime: string) =>
  `if(${exchange} IN (${perConnection}), concat(toString(${seq}), '|', ${symbol}, '|', toString(${exchangeTime})), ` +
  `toString(${seq}))`;
