// Faults through Docker: the guard (only K2 containers, and in the lab only the lab's), apply, clear (idempotent,
// restoring a disconnected container's address and aliases exactly), clear with retry, and the restore of whatever
// the journal says an interrupted run left broken.
import type Docker from "dockerode";
import { type DockerTarget, inspectIfAny } from "../io/docker.ts";
import { SERVICES, stopGraceSeconds } from "../k2/stack.ts";
import { EXIT, firstLine, K2Error } from "../runtime/errors.ts";
import { type Endpoint, type JournalEntry, journalRemove, journalSet, readJournal } from "./journal.ts";

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
export async function guard(engine: DockerTarget, name: string, lab: boolean) {
  if (!K2_NAMES.has(name))
    throw new K2Error(
      `refusing to touch ${name}: not a K2 container (${[...K2_NAMES].slice(0, 3).join(", ")}, ...)`,
      EXIT.usage,
    );
  const i = await inspectIfAny(engine, name);
  if (!i)
    throw new K2Error(`no container ${name} on ${engine.host}: check the stack (docker ps) or --tests`, EXIT.notFound);
  if (lab && i.Config.Labels?.["com.k2.lab"] !== "true")
    throw new K2Error(`${name} is not a lab container: the lab never touches a real stack's containers`, EXIT.usage);
  return i;
}

export async function applyFault(engine: DockerTarget, entry: JournalEntry) {
  const c = engine.docker.getContainer(entry.container);
  // the stack's own grace before SIGKILL, as `docker compose stop|restart` gives it (the lab's containers: 2 s)
  const t = entry.action === "disconnect" ? 0 : stopGraceSeconds((await c.inspect()).Config);
  if (entry.action === "stop") await c.stop({ t });
  else if (entry.action === "restart") await c.restart({ t });
  else {
    const i = await c.inspect();
    const endpoint = endpointOf(i, entry.network!);
    if (!endpoint)
      throw new K2Error(
        `${entry.container} is not on network ${entry.network} (it is on ` +
          `${Object.keys(i.NetworkSettings.Networks).join(", ") || "none"}): fix --network`,
        EXIT.notFound,
      );
    entry.endpoint = endpoint; // on disk before the disconnect, so that a run after a SIGKILL restores it too
    await journalSet(entry);
    await engine.docker.getNetwork(entry.network!).disconnect({ Container: entry.container });
  }
}

/** Undo a fault; idempotent, so it is safe after a crash, twice, or on a fault that already cleared. */
export async function clearFault(engine: DockerTarget, entry: JournalEntry) {
  const c = engine.docker.getContainer(entry.container);
  const i = await c.inspect();
  if (entry.action === "disconnect") {
    const before = entry.endpoint ?? { ipv4: null, aliases: [] };
    if (!i.NetworkSettings.Networks[entry.network!])
      await engine.docker.getNetwork(entry.network!).connect({
        Container: entry.container,
        EndpointConfig: { IPAMConfig: before.ipv4 ? { IPv4Address: before.ipv4 } : undefined, Aliases: before.aliases },
      });
    const missing = endpointMissing(before, endpointOf(await c.inspect(), entry.network!));
    if (missing.length)
      throw new K2Error(
        `${entry.container} is back on ${entry.network} without its ${missing.join(", ")}`,
        EXIT.unreachable,
      );
  } else if (i.State.Paused) await c.unpause();
  else if (!i.State.Running) await c.start();
}

/** Retry clearing while Docker answers errors; the outcome is reported, never assumed. */
export async function clearWithRetry(
  docker: DockerTarget,
  entry: JournalEntry,
  tries = 10,
): Promise<{ ok: boolean; attempts: number; error?: string }> {
  let error: string | undefined;
  for (let a = 1; a <= tries; a++) {
    try {
      await clearFault(docker, entry);
      await journalRemove(entry.test);
      return { ok: true, attempts: a };
    } catch (err) {
      error = firstLine(err);
      await Bun.sleep(1000);
    }
  }
  return { ok: false, attempts: tries, error };
}

/** Before anything else: restore whatever the journal says a previous run left broken. */
export async function restoreJournal(dockerTarget: DockerTarget, log: (m: string) => void) {
  const restored: { entry: JournalEntry; ok: boolean; before: string; after: string; error?: string }[] = [];
  for (const e of readJournal()) {
    if (!K2_NAMES.has(e.container)) {
      await journalRemove(e.test);
      continue;
    }
    const state = async () => {
      const i = await dockerTarget.docker
        .getContainer(e.container)
        .inspect()
        .catch(() => undefined); // a state for the message only: whatever the engine cannot say is "missing"
      return i
        ? i.State.Status + (e.network ? `, ${i.NetworkSettings.Networks[e.network] ? "on" : "off"} ${e.network}` : "")
        : "missing";
    };
    const before = await state();
    log(`restoring after an interrupted run: ${e.test} left ${e.container} ${before} (${e.action} at ${e.at})`);
    const r = await clearWithRetry(dockerTarget, e, 3);
    restored.push({ entry: e, ok: r.ok, before, after: await state(), error: r.error });
  }
  return restored;
}
