// The failure-mode tests as a declarative matrix (FACTS.md, the brief's order, lowest risk first), the selection by
// --tests, each test's plan as --dry-run prints it, and each test as a fault another step applies (stepThree). The
// fault layer itself (guard, journal, apply, clear with retry, restore) is lib/faults/; the runner is run.ts.
import { FaultControl, type FaultRig } from "../faults/control.ts";
import type { Action } from "../faults/journal.ts";
import { reconnectCommand } from "../k2/network.ts";
import { MTTR_TARGET_MS } from "../k2/thresholds.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";

export type TestSpec = {
  id: number;
  name: string;
  title: string;
  container: string;
  action: Action;
  exchange?: string;
  targetMs: number;
  matrixMs: number | null;
  pass: string;
  /** the lab's stand-in: what runs in place of the real component, and what the fault does to it */
  analogue: string;
  consumerHold: boolean;
  offload: boolean;
};

export const MATRIX: TestSpec[] = [
  {
    id: 1,
    name: "feed-handler-crash",
    title: "Feed handler crash",
    container: "k2-feed-handler-binance",
    action: "stop",
    exchange: "binance",
    targetMs: MTTR_TARGET_MS["feed-handler-crash"].target,
    matrixMs: MTTR_TARGET_MS["feed-handler-crash"].matrix,
    pass: "other exchanges keep flowing; binance resumes",
    consumerHold: false,
    offload: false,
    analogue:
      "the lab's Binance handler is a real container that carries every Binance trade (bind-mounted FIFO); stopping " +
      "it loses Binance's trades until it is back, as a crashed handler misses its websocket",
  },
  {
    id: 2,
    name: "redpanda-restart",
    title: "Redpanda restart",
    container: "k2-redpanda",
    action: "restart",
    targetMs: MTTR_TARGET_MS["redpanda-restart"].target,
    matrixMs: MTTR_TARGET_MS["redpanda-restart"].matrix,
    pass: "no trade loss; consumers resume from offset",
    consumerHold: true,
    offload: false,
    analogue:
      "there is no broker here: the handlers' output files play the topics; k2-redpanda (a lab container) is " +
      "restarted and the consumer holds its file offsets for the fault's length, as Kafka-engine consumers wait for " +
      "the broker",
  },
  {
    id: 3,
    name: "clickhouse-restart",
    title: "ClickHouse restart",
    container: "k2-clickhouse",
    action: "restart",
    targetMs: MTTR_TARGET_MS["clickhouse-restart"].target,
    matrixMs: MTTR_TARGET_MS["clickhouse-restart"].matrix,
    pass: "bronze count continuous; no silver/gold gaps",
    consumerHold: true,
    offload: false,
    analogue:
      "the embedded engine cannot be restarted under the test: k2-clickhouse (a lab container) is restarted and the " +
      "consumer's inserts are held meanwhile, as they fail while the server is away",
  },
  {
    id: 4,
    name: "offload-failure",
    title: "Offload failure",
    container: "k2-spark-iceberg",
    action: "stop",
    targetMs: MTTR_TARGET_MS["offload-failure"].target,
    matrixMs: MTTR_TARGET_MS["offload-failure"].matrix,
    pass: "watermark not advanced; next run exactly-once",
    consumerHold: false,
    offload: true,
    analogue:
      "the lab's offload job (every few seconds, ClickHouse offload_watermarks) runs only while k2-spark-iceberg is up",
  },
  {
    id: 5,
    name: "minio-unavailable",
    title: "MinIO unavailable",
    container: "k2-minio",
    action: "stop",
    targetMs: MTTR_TARGET_MS["minio-unavailable"].target,
    matrixMs: MTTR_TARGET_MS["minio-unavailable"].matrix,
    pass: "hot tier unaffected; next offload succeeds",
    consumerHold: false,
    offload: true,
    analogue: "the lab's offload job writes its cold copy only while k2-minio is up",
  },
  {
    id: 6,
    name: "network-partition",
    title: "Network partition",
    container: "k2-clickhouse",
    action: "disconnect",
    targetMs: MTTR_TARGET_MS["network-partition"].target,
    matrixMs: MTTR_TARGET_MS["network-partition"].matrix,
    pass: "no corruption; consumers resume from committed offset",
    consumerHold: true,
    offload: false,
    analogue:
      "k2-clickhouse is disconnected from the lab's internal network (compose's k2-net, in the lab's own project; " +
      "nothing is ever sent over it) and the consumer's inserts are held meanwhile",
  },
];

export function selectTests(names: string | undefined): TestSpec[] {
  if (!names) return MATRIX;
  const picked = names
    .split(",")
    .map((n) => n.trim())
    .map(
      (n) =>
        MATRIX.find((t) => t.name === n || String(t.id) === n) ??
        (() => {
          throw new K2Error(
            `invalid --tests: unknown test ${JSON.stringify(n)} (expected ${MATRIX.map((t) => t.name).join(", ")} or ` +
              `1-6)`,
          );
        })(),
    );
  return MATRIX.filter((t) => picked.includes(t)); // lowest risk first, whatever order was typed
}

/** What a test will do, one line per step, for --dry-run. */
export function plan(spec: TestSpec, holdMs: number, network: string): string[] {
  const verb =
    spec.action === "disconnect"
      ? `docker network disconnect ${network} ${spec.container}`
      : `docker ${spec.action} ${spec.container}`;
  const undo =
    spec.action === "stop"
      ? `docker start ${spec.container}`
      : spec.action === "disconnect"
        ? reconnectCommand(network, spec.container)
        : "(restart clears itself)";
  return [
    `test ${spec.id} ${spec.name}: baseline 5 s`,
    `  fault: ${verb}${spec.consumerHold ? " + hold the lab consumer" : ""}`,
    `  hold ${holdMs / 1000} s, then clear: ${undo}`,
    `  observe at 1 s until recovered (target ${spec.targetMs / 1000} s)`,
  ];
}

/** A test as a fault: what it does in words, its apply, and its clear (which throws if the container stays broken). */
export type TestFault = { fault: string; apply(): Promise<void>; clear(): Promise<void> };

/**
 * One of step 3's tests as a fault another step applies (the live fire on a stack, the drill), through lib/faults/
 * (guard, journal, the Docker action, step 3's retrying clear). `label` names it in the journal (e.g. "live-fire
 * FeedHandlerDown").
 */
export function stepThree(faultRig: FaultRig, test: string, label: string): TestFault {
  const t = MATRIX.find((x) => x.name === test)!;
  const verb = t.action === "disconnect" ? `docker network disconnect ${faultRig.network}` : `docker ${t.action}`;
  const control = new FaultControl(faultRig, {
    name: label,
    label,
    container: t.container,
    action: t.action,
    consumerHold: t.consumerHold,
  });
  return {
    fault: `step 3's ${test}: ${verb} ${t.container}`,
    apply: () => control.apply(),
    clear: async () => {
      const c = await control.clear();
      if (!c.ok) throw new K2Error(`could not clear the fault on ${t.container}: ${c.error}`, EXIT.unreachable);
    },
  };
}
