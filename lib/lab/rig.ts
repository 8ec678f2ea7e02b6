// The lab started once, one way, for every notebook that runs on it (latency, failure modes, the live fire): its
// containers when a Docker engine answers, its traffic (the replayer in the background, through the handler
// containers' FIFOs when asked), and its offload job on a schedule. Notebooks start it and pass it to their step's
// runner, which sees only its types; stop() undoes everything in reverse.
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { isInstalled } from "../io/packages.ts";
import { type Postgres, startPostgres } from "../io/postgres.ts";
import type { Conduits } from "./conduit.ts";
import { ClickHouseEndpoint, redpandaMetrics } from "./endpoints.ts";
import { EXCHANGE_SHARE } from "./instruments.ts";
import { type LabTraffic, startLabTraffic } from "./lab.ts";
import { clickhouseStore, LabOffload, postgresStore } from "./offload.ts";
import { parseDelay } from "./random.ts";
import type { LabSchemaOptions } from "./schema.ts";
import { ensureLabStack } from "./stack.ts";
import type { LabTopics } from "./topics.ts";
import type { Fault } from "./traffic.ts";

export type LabRigOptions = {
  /** messages per second over the three exchanges */
  rate: number;
  seed: number;
  /** the modelled exchange delay, e.g. "lognormal:40ms,0.5" (lib/lab/random.ts parseDelay) */
  delay: string;
  /** the consumer's flush interval, stated in the Kafka stand-ins' DDL */
  flushMs: number;
  faults?: Fault[];
  schema?: LabSchemaOptions;
  /** the lab's containers are created (or found) when set */
  docker: DockerTarget | null;
  /** the trades go through the handler containers (needs `docker`), as a stack's feed handlers carry them */
  throughContainers?: boolean;
  /** the topics shared with k2-redpanda's rpk stand-in */
  topics?: LabTopics;
  /**
   * The offload job: how often it runs, and whether it checks the lab's Spark and MinIO containers; null: none. Its
   * watermarks go to a Prefect DB of the lab's own (PostgreSQL, when installed) with ClickHouse's copy stale, as on a
   * deployed stack; else (or with `clickhouse`) to ClickHouse.
   */
  offload: { everyMs: number; containers: boolean; clickhouse?: boolean } | null;
};

/** What the lab serves in place of Redpanda's /public_metrics and ClickHouse's <prometheus> endpoint. */
type LabEndpoints = { redpanda(): string; clickhouse: ClickHouseEndpoint };

export type LabRig = {
  target: Target;
  docker: DockerTarget | null;
  flushMs: number;
  traffic: LabTraffic;
  /** the busiest exchange's share of the traffic, by the lab's model */
  busiestShare: number;
  endpoints: LabEndpoints;
  offload: LabOffload | null;
  /** the lab's Prefect DB, where its offload keeps the watermarks (PREFECT_DB_URL for readers); none without one */
  prefectDbUrl?: string;
  stop(): Promise<void>;
};

export async function startLabRig(target: Target, options: LabRigOptions): Promise<LabRig> {
  // the Prefect DB's cluster starts while the containers are found and the traffic starts: they share nothing
  const starting =
    options.offload && !options.offload.clickhouse && isInstalled("postgres") ? startPostgres() : undefined;
  starting?.catch(() => {}); // awaited below; a failure before then is reported there
  try {
    return await startWith(target, options, starting);
  } catch (e) {
    await (await starting?.catch(() => undefined))?.stop();
    throw e;
  }
}

async function startWith(
  target: Target,
  options: LabRigOptions,
  starting: Promise<Postgres> | undefined,
): Promise<LabRig> {
  const conduits: Conduits | undefined = options.docker ? await ensureLabStack(options.docker) : undefined;
  const traffic = await startLabTraffic(
    target,
    {
      ratePerSec: options.rate,
      seed: options.seed,
      delay: parseDelay(options.delay),
      flushMs: options.flushMs,
      faults: options.faults,
      topics: options.topics,
      conduits: options.throughContainers ? conduits : undefined,
    },
    options.schema,
  );
  const prefectDb = await starting?.catch(async (e) => {
    await traffic.stop().catch(() => {}); // the error is PostgreSQL's: the traffic's own end says nothing more
    throw e;
  });
  const offload = options.offload
    ? (
        await new LabOffload(
          target,
          options.offload.containers ? options.docker : null,
          options.offload.everyMs,
          prefectDb ? postgresStore(prefectDb.url, target) : clickhouseStore(target),
        ).setup()
      ).start()
    : null;
  const clickhouse = new ClickHouseEndpoint(target);
  return {
    target,
    docker: options.docker,
    flushMs: options.flushMs,
    traffic,
    busiestShare: Math.max(...Object.values(EXCHANGE_SHARE)),
    endpoints: {
      redpanda: () => redpandaMetrics(traffic.summary()),
      clickhouse,
    },
    offload,
    prefectDbUrl: prefectDb?.url,
    async stop() {
      offload?.stop();
      await clickhouse.stop();
      await traffic.stop();
      await offload?.store.close();
      await prefectDb?.stop();
      conduits?.close();
    },
  };
}
