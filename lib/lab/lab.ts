// The K2 lab as one call: open the lab's own engine folder (never a server or a user's folder:
// the lab drops and rebuilds its databases), build the schema, replay trades, return the replayer's summary.
import { connectClickHouse, type Target, targetFromEnv } from "../io/clickhouse.ts";
import { KAFKA_ENGINE } from "../k2/stack.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { progress } from "../runtime/progress.ts";
import { formatDuration } from "../runtime/units.ts";
import { EXCHANGE_SHARE, type Exchange } from "./instruments.ts";
import { type ReplayOptions, type ReplaySummary, replay } from "./replayer.ts";
import { LAB_TRUTH_DB, type LabSchemaOptions, resetLab } from "./schema.ts";
import type { LabTopics } from "./topics.ts";

export async function openLab(env = process.env): Promise<Target> {
  const spec = targetFromEnv(env);
  if (spec.kind !== "embedded")
    throw new K2Error(
      `the lab runs on the embedded engine only, and CLICKHOUSE_URL points at a server: unset it or set ` +
        `CLICKHOUSE_URL=chdb://<folder>`,
      EXIT.usage,
    );
  if (!spec.lab)
    throw new K2Error(
      `the lab runs only in its own engine folder (data/lab-engine), not in ${spec.path}: unset CLICKHOUSE_URL ` +
        "(the other notebooks measure that folder in place)",
      EXIT.usage,
    );
  return connectClickHouse(spec);
}

export async function runLab(
  target: Target,
  o: Omit<ReplayOptions, "database">,
  label = "lab",
  schema: LabSchemaOptions = {},
): Promise<ReplaySummary> {
  await resetFor(target, o, schema);
  const bar = progress(`${label} replay`, o.durationMs);
  const summary = await replay(target, { ...o, database: target.database }, undefined, (elapsed, s) =>
    bar.update(
      elapsed,
      `${formatDuration(Math.min(elapsed, o.durationMs))} / ${formatDuration(o.durationMs)}, ${s.sent} trades sent`,
    ),
  );
  bar.end(`${summary.sent} trades sent in ${summary.batches} inserts`);
  return summary;
}

/** A fresh lab pipeline whose Kafka stand-ins state the rule the replayer's consumer will flush by. */
function resetFor(target: Target, o: Pick<ReplayOptions, "flushMs" | "maxBatch">, schema: LabSchemaOptions) {
  const kafka = { flushIntervalMs: o.flushMs, maxBlockSize: o.maxBatch ?? KAFKA_ENGINE.maxBlockSize };
  return resetLab(target, target.database, LAB_TRUTH_DB, { kafka, ...schema });
}

/** The lab's traffic running in the background, as a stack's feed handlers run: measured, and loaded, while it runs. */
export type LabTraffic = {
  control: { paused: boolean; stop: boolean; rate: number; silenced: Set<Exchange> };
  baseRate: number;
  startedMs: number;
  /** where its ground truth is (LAB_TRUTH_DB): what it sent, dropped and batched */
  truthDb: string;
  /** each exchange's share of the trades it generates, by its model */
  shares: Record<Exchange, number>;
  /** the topics it carries, when it shares them with k2-redpanda's rpk stand-in */
  topics?: LabTopics;
  /** the replayer's summary so far (live: it changes as the traffic runs) */
  summary(): ReplaySummary;
  /** a failure of the background replay, thrown at the next look */
  check(): void;
  stop(): Promise<ReplaySummary>;
};

export async function startLabTraffic(
  target: Target,
  o: Omit<ReplayOptions, "database" | "durationMs" | "control">,
  schema: LabSchemaOptions = {},
): Promise<LabTraffic> {
  await resetFor(target, o, schema);
  o.topics?.setup();
  const control = { paused: false, stop: false, rate: o.ratePerSec, silenced: new Set<Exchange>() };
  let last: ReplaySummary | undefined, failed: unknown;
  const done = replay(
    target,
    { ...o, database: target.database, durationMs: 24 * 3_600_000, control },
    undefined,
    (_, s) => {
      last = s;
    },
  ).catch((e) => {
    failed = e;
    throw e;
  });
  done.catch(() => {}); // reported by check() or stop()
  return {
    control,
    baseRate: o.ratePerSec,
    startedMs: Date.now(),
    truthDb: LAB_TRUTH_DB,
    shares: EXCHANGE_SHARE,
    topics: o.topics,
    summary: () => last!,
    check: () => {
      if (failed) throw failed;
    },
    async stop() {
      control.stop = true;
      return done;
    },
  };
}
