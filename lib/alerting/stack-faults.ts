// The live fire's faults on a stack: step 3's fault actions (its matrix, its journal written before each fault, its
// guard that touches only K2 containers), one per alert where one makes the alert's condition true. On the lab the same
// actions hit the lab's containers, and a fault step 3 pairs with a consumer hold holds the lab's consumer too.
// No step 3 fault makes bronze inserts fail without altering the stack's tables, so that alert is fired in the lab
// only.

import { applyFault, clearWithRetry, guard, type JournalEntry, journalAdd, MATRIX } from "../failure/matrix.ts";
import type { DockerTarget } from "../io/docker.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { compressedMs } from "./compress.ts";
import { delayAfterStall, type FaultSpec, oomFault } from "./livefire/lab.ts";

/** Where step 3's faults are applied. */
export type FaultRig = {
  docker: DockerTarget;
  /** the lab's containers (guarded by their label), not a stack's */
  lab: boolean;
  /** the network the partition disconnects k2-clickhouse from */
  network: string;
  /** the lab's consumer, held during a fault step 3 pairs with a hold */
  hold?: { paused: boolean };
};
export type StackRig = FaultRig & {
  /** the busiest exchange's rate, msg/s: how soon a stalled consumer's lag passes the threshold */
  busiestPerSec: number;
  flushMs: number;
  offloadEveryMs: number;
  /** the exporter's delay window, when it is the lab's (compressed); a stack's is a minute */
  delayWindowMs?: number;
};

/**
 * One of step 3's tests as a fault: journal, then the Docker action; cleared by step 3's retrying clear. `label` names
 * it in the journal (e.g. "live-fire FeedHandlerDown").
 */
export function stepThree(r: FaultRig, test: string, label: string): Pick<FaultSpec, "fault" | "apply" | "clear"> {
  const t = MATRIX.find((x) => x.name === test)!;
  const verb = t.action === "disconnect" ? `docker network disconnect ${r.network}` : `docker ${t.action}`;
  let entry: JournalEntry | undefined;
  return {
    fault: `step 3's ${test}: ${verb} ${t.container}`,
    apply: async () => {
      await guard(r.docker, t.container, r.lab);
      const network = t.action === "disconnect" ? r.network : undefined;
      const at = new Date().toISOString();
      entry = { test: label, container: t.container, action: t.action, network, at, pid: process.pid };
      await journalAdd(entry);
      await applyFault(r.docker, entry);
      if (t.consumerHold && r.hold) r.hold.paused = true;
    },
    clear: async () => {
      if (r.hold) r.hold.paused = false;
      if (!entry) return;
      const c = await clearWithRetry(r.docker, entry);
      entry = undefined;
      if (!c.ok) throw new K2Error(`could not clear the fault on ${t.container}: ${c.error}`, EXIT.unreachable);
    },
  };
}

export function stackFaults(r: StackRig, factor: number, scrapeMs: number): FaultSpec[] {
  return [
    {
      alert: "FeedHandlerDown",
      conditionAfterMs: compressedMs(THRESHOLDS.feedStaleMs, factor, scrapeMs) + r.flushMs,
      ...stepThree(r, "feed-handler-crash", "live-fire FeedHandlerDown"),
    },
    {
      alert: "RedpandaConsumerLagHigh",
      conditionAfterMs: (THRESHOLDS.consumerLagMessages / r.busiestPerSec) * 1000,
      ...stepThree(r, "network-partition", "live-fire RedpandaConsumerLagHigh"),
    },
    delayAfterStall("k2-clickhouse partitioned, then reconnected", r.flushMs, scrapeMs, r.delayWindowMs),
    {
      alert: "ClickHouseBronzeInsertFailure",
      fault: "inserts failing",
      conditionAfterMs: 0,
      notRun: "no step 3 fault makes bronze inserts fail without altering the stack's tables: fired in the lab only",
      apply: async () => {},
      clear: async () => {},
    },
    {
      alert: "IcebergOffloadLag",
      conditionAfterMs: compressedMs(THRESHOLDS.offloadLagMinutes * 60_000, factor, scrapeMs),
      ...stepThree(r, "offload-failure", "live-fire IcebergOffloadLag"),
    },
    {
      alert: "IcebergOffloadFailure",
      conditionAfterMs: (THRESHOLDS.offloadFailedRunsAbove + 1) * r.offloadEveryMs,
      ...stepThree(r, "minio-unavailable", "live-fire IcebergOffloadFailure"),
    },
    oomFault(r.docker),
  ];
}
