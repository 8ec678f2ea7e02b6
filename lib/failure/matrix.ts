// The failure-mode tests: a declarative matrix (FACTS.md, the brief's order, lowest risk
// first), a journal written before any fault so that a later run restores what a killed one
// left broken, and the runner: baseline, fault, observation at 1 s, clearing, recovery.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type Docker from "dockerode";
import type { DockerTarget } from "../io/docker.ts";
import { inspectIfAny } from "../io/docker.ts";
import { reconnectCommand } from "../k2/network.ts";
import { SERVICES, stopGraceSeconds } from "../k2/stack.ts";
import { MTTR_TARGET_MS } from "../k2/thresholds.ts";
import { LAB_NET } from "../lab/stack.ts";
import { EXIT, firstLine, K2Error } from "../runtime/errors.ts";
import { writeAtomic } from "../runtime/fsx.ts";
import { dataDir } from "../runtime/paths.ts";

type Action = "stop" | "restart" | "disconnect";
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
      `k2-clickhouse is disconnected from the lab's internal network ${LAB_NET} (nothing is ever sent over ` +
      `it) and the consumer's inserts are held meanwhile`,
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
export function plan(t: TestSpec, holdMs: number, network: string): string[] {
  const verb =
    t.action === "disconnect"
      ? `docker network disconnect ${network} ${t.container}`
      : `docker ${t.action} ${t.container}`;
  const undo =
    t.action === "stop"
      ? `docker start ${t.container}`
      : t.action === "disconnect"
        ? reconnectCommand(network, t.container)
        : "(restart clears itself)";
  return [
    `test ${t.id} ${t.name}: baseline 5 s`,
    `  fault: ${verb}${t.consumerHold ? " + hold the lab consumer" : ""}`,
    `  hold ${holdMs / 1000} s, then clear: ${undo}`,
    `  observe at 1 s until recovered (target ${t.targetMs / 1000} s)`,
  ];
}

// ---- the journal: every fault in flight is on disk before it is applied ----
export type JournalEntry = {
  test: string;
  container: string;
  action: Action;
  network?: string;
  /** a disconnect: the container's endpoint on the network before it, restored exactly at clearing */
  endpoint?: Endpoint;
  at: string;
  pid: number;
};
/**
 * A container's endpoint on a network: its static address (compose's ipv4_address, e.g. clickhouse 172.28.0.20 on
 * k2-net) and its aliases (the service name, `clickhouse`, by which the offload and Prometheus reach it). A plain
 * `docker network connect` brings the container back with neither.
 */
export type Endpoint = { ipv4: string | null; aliases: string[] };
export const journalPath = () => join(dataDir(), "03-failure-modes", "journal.json");
export const readJournal = (): JournalEntry[] =>
  existsSync(journalPath()) ? JSON.parse(readFileSync(journalPath(), "utf8")) : [];
const writeJournal = (j: JournalEntry[]) => writeAtomic(journalPath(), JSON.stringify(j, null, 2));
export async function journalAdd(e: JournalEntry) {
  await writeJournal([...readJournal(), e]);
}
async function journalRemove(test: string) {
  await writeJournal(readJournal().filter((e) => e.test !== test));
}
async function journalSet(e: JournalEntry) {
  await writeJournal([...readJournal().filter((x) => x.test !== e.test), e]);
}

/** The endpoint as Docker reports it, less what Docker resolves by itself (the short id, the container's name). */
export function endpointOf(i: Docker.ContainerInspectInfo, network: string): Endpoint | null {
  const n = i.NetworkSettings.Networks[network];
  if (!n) return null;
  const aliases: string[] = Array.isArray(n.Aliases) ? n.Aliases : [];
  const ipv4: unknown = n.IPAMConfig?.IPv4Address;
  // the short id and the container's own name are not the compose aliases: the engine resolves both on any
  // user-defined network whatever `--alias` was given
  const own = (a: string) => i.Id.startsWith(a) || a === i.Name.replace(/^\//, "");
  return { ipv4: typeof ipv4 === "string" && ipv4 ? ipv4 : null, aliases: aliases.filter((a) => !own(a)) };
}

/** What of the endpoint recorded before the fault is missing now: empty when restored exactly. */
export function endpointMissing(before: Endpoint, now: Endpoint | null): string[] {
  if (!now) return ["the network"];
  return [
    ...(before.ipv4 && now.ipv4 !== before.ipv4 ? [`address ${before.ipv4}`] : []),
    ...before.aliases.filter((a) => !now.aliases.includes(a)).map((a) => `alias ${a}`),
  ];
}

const K2_NAMES = new Set(SERVICES.map((s) => s.container));
/** Only K2 containers are ever touched (and in the lab, only the lab's). */
export async function guard(d: DockerTarget, name: string, lab: boolean) {
  if (!K2_NAMES.has(name))
    throw new K2Error(
      `refusing to touch ${name}: not a K2 container (${[...K2_NAMES].slice(0, 3).join(", ")}, ...)`,
      EXIT.usage,
    );
  const i = await inspectIfAny(d, name);
  if (!i) throw new K2Error(`no container ${name} on ${d.host}: check the stack (docker ps) or --tests`, EXIT.notFound);
  if (lab && i.Config.Labels?.["com.k2.lab"] !== "true")
    throw new K2Error(`${name} is not a lab container: the lab never touches a real stack's containers`, EXIT.usage);
  return i;
}

export async function applyFault(d: DockerTarget, e: JournalEntry) {
  const c = d.docker.getContainer(e.container);
  // the stack's own grace before SIGKILL, as `docker compose stop|restart` gives it (the lab's containers: 2 s)
  const t = e.action === "disconnect" ? 0 : stopGraceSeconds((await c.inspect()).Config);
  if (e.action === "stop") await c.stop({ t });
  else if (e.action === "restart") await c.restart({ t });
  else {
    const i = await c.inspect();
    const endpoint = endpointOf(i, e.network!);
    if (!endpoint)
      throw new K2Error(
        `${e.container} is not on network ${e.network} (it is on ` +
          `${Object.keys(i.NetworkSettings.Networks).join(", ") || "none"}): fix --network`,
        EXIT.notFound,
      );
    e.endpoint = endpoint; // on disk before the disconnect, so that a run after a SIGKILL restores it too
    await journalSet(e);
    await d.docker.getNetwork(e.network!).disconnect({ Container: e.container });
  }
}

/** Undo a fault; idempotent, so it is safe after a crash, twice, or on a fault that already cleared. */
export async function clearFault(d: DockerTarget, e: JournalEntry) {
  const c = d.docker.getContainer(e.container);
  const i = await c.inspect();
  if (e.action === "disconnect") {
    const before = e.endpoint ?? { ipv4: null, aliases: [] };
    if (!i.NetworkSettings.Networks[e.network!])
      await d.docker.getNetwork(e.network!).connect({
        Container: e.container,
        EndpointConfig: { IPAMConfig: before.ipv4 ? { IPv4Address: before.ipv4 } : undefined, Aliases: before.aliases },
      });
    const missing = endpointMissing(before, endpointOf(await c.inspect(), e.network!));
    if (missing.length)
      throw new K2Error(`${e.container} is back on ${e.network} without its ${missing.join(", ")}`, EXIT.unreachable);
  } else if (i.State.Paused) await c.unpause();
  else if (!i.State.Running) await c.start();
}

/** Retry clearing while Docker answers errors; the outcome is reported, never assumed. */
export async function clearWithRetry(
  d: DockerTarget,
  e: JournalEntry,
  tries = 10,
): Promise<{ ok: boolean; attempts: number; error?: string }> {
  let error: string | undefined;
  for (let a = 1; a <= tries; a++) {
    try {
      await clearFault(d, e);
      await journalRemove(e.test);
      return { ok: true, attempts: a };
    } catch (err) {
      error = firstLine(err);
      await Bun.sleep(1000);
    }
  }
  return { ok: false, attempts: tries, error };
}

/** Before anything else: restore whatever the journal says a previous run left broken. */
export async function restoreJournal(d: DockerTarget, log: (m: string) => void) {
  const restored: { entry: JournalEntry; ok: boolean; before: string; after: string; error?: string }[] = [];
  for (const e of readJournal()) {
    if (!K2_NAMES.has(e.container)) {
      await journalRemove(e.test);
      continue;
    }
    const state = async () => {
      const i = await d.docker
        .getContainer(e.container)
        .inspect()
        .catch(() => undefined); // a state for the message only: whatever the engine cannot say is "missing"
      return i
        ? i.State.Status + (e.network ? `, ${i.NetworkSettings.Networks[e.network] ? "on" : "off"} ${e.network}` : "")
        : "missing";
    };
    const before = await state();
    log(`restoring after an interrupted run: ${e.test} left ${e.container} ${before} (${e.action} at ${e.at})`);
    const r = await clearWithRetry(d, e, 3);
    restored.push({ entry: e, ok: r.ok, before, after: await state(), error: r.error });
  }
  return restored;
}
