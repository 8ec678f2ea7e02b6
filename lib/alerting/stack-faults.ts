// The live fire's faults on a stack: step 3's fault actions (its matrix, its journal written before each fault, its
// guard that touches only K2 containers), one per alert where one makes the alert's condition true. On the lab the same
// actions hit the lab's containers, and a fault step 3 pairs with a consumer hold holds the lab's consumer too.
// No step 3 fault makes bronze inserts fail without altering the stack's tables, so that alert is fired in the lab
// only.

import { stepThree } from "../failure/matrix.ts";
import type { FaultRig } from "../faults/control.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { compressedMs } from "./compress.ts";
import { delayAfterStall, type FaultSpec, oomFault } from "./livefire/lab.ts";

export type StackRig = FaultRig & {
  /** the busiest exchange's rate, msg/s: how soon a stalled consumer's lag passes the threshold */
  busiestPerSec: number;
  flushMs: number;
  offloadEveryMs: number;
  /** the exporter's delay window, when it is the lab's (compressed); a stack's is a minute */
  delayWindowMs?: number;
  /** on the lab, whether its consumer's lag is over the threshold now (its ground truth); a stack's is not known */
  lagHolds?: () => boolean;
};

export function stackFaults(stackRig: StackRig, factor: number, scrapeMs: number): FaultSpec[] {
  return [
    {
      alert: "FeedHandlerDown",
      conditionAfterMs: compressedMs(THRESHOLDS.feedStaleMs, factor, scrapeMs) + stackRig.flushMs,
      ...stepThree(stackRig, "feed-handler-crash", "live-fire FeedHandlerDown"),
    },
    {
      alert: "RedpandaConsumerLagHigh",
      conditionAfterMs: (THRESHOLDS.consumerLagMessages / stackRig.busiestPerSec) * 1000,
      // on the lab the lag crosses when its (Poisson, and on a loaded machine slower) arrivals make it: timed from then
      holds: stackRig.lagHolds,
      ...stepThree(stackRig, "network-partition", "live-fire RedpandaConsumerLagHigh"),
    },
    delayAfterStall("k2-clickhouse partitioned, then reconnected", stackRig.flushMs, scrapeMs, stackRig.delayWindowMs),
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
      ...stepThree(stackRig, "offload-failure", "live-fire IcebergOffloadLag"),
    },
    {
      alert: "IcebergOffloadFailure",
      conditionAfterMs: (THRESHOLDS.offloadFailedRunsAbove + 1) * stackRig.offloadEveryMs,
      ...stepThree(stackRig, "minio-unavailable", "live-fire IcebergOffloadFailure"),
    },
    oomFault(stackRig.docker),
  ];
}
