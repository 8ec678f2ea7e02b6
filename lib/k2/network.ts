// The network a partition leaves, as the engine names it. Compose declares `k2-net` with no `name:`, so the engine
// calls it `<compose project>_k2-net` (k2-market-data-platform_k2-net, or the checkout folder's name); the brief's
// `k2-market-data-platform_default` and a bare `k2-net` do not exist there. So it is read from what k2-clickhouse is
// attached to, never assumed; the lab's k2-clickhouse is on k2-lab_k2-net, named as compose would.
import type { DockerTarget } from "../io/docker.ts";
import { inspectIfAny } from "../io/docker.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { SERVICES } from "./stack.ts";

const BUILT_IN = new Set(["none", "host", "bridge"]);
/** The compose network's name in K2's compose file (compose labels the engine's network with it). */
export const COMPOSE_NETWORK = "k2-net";

/** `override` (--network) if given, else the network k2-clickhouse is on (compose's k2-net when it is on several). */
export async function clickhouseNetwork(engine: DockerTarget, override?: string): Promise<string> {
  if (override) return override;
  const i = await inspectIfAny(engine, "k2-clickhouse");
  if (!i)
    throw new K2Error(
      `no container k2-clickhouse on ${engine.host}: start the stack, or name the network with --network`,
      EXIT.notFound,
    );
  const nets = Object.keys(i.NetworkSettings.Networks).filter((n) => !BUILT_IN.has(n));
  if (nets.length === 1) return nets[0]!;
  const compose: string[] = [];
  for (const n of nets) {
    const labels = (await engine.docker.getNetwork(n).inspect()).Labels ?? {};
    if (labels["com.docker.compose.network"] === COMPOSE_NETWORK) compose.push(n);
  }
  if (compose.length === 1) return compose[0]!;
  throw new K2Error(
    `k2-clickhouse is on ${nets.length ? nets.join(", ") : "no network"}` +
      (compose.length > 1 ? ` (${compose.length} of them compose's ${COMPOSE_NETWORK})` : "") +
      ": name the one to partition with --network",
    EXIT.usage,
  );
}

/**
 * `docker network connect` as compose attached the container: its fixed address and its service name as alias
 * (without them it comes back on another address, unreachable as `clickhouse`; FACTS.md).
 */
export function reconnectCommand(network: string, container: string): string {
  const s = SERVICES.find((x) => x.container === container);
  const ip = s?.ipv4 ? ` --ip ${s.ipv4}` : "";
  return `docker network connect${ip}${s ? ` --alias ${s.service}` : ""} ${network} ${container}`;
}
