// The network a partition leaves, as the engine names it. Compose declares `k2-net` with no `name:`, so the engine
// calls it `<compose project>_k2-net` (k2-market-data-platform_k2-net, or the checkout folder's name); the brief's
// `k2-market-data-platform_default` and a bare `k2-net` do not exist there. So it is read from what k2-clickhouse is
// attached to, never assumed; the lab's k2-clickhouse is on k2-lab-net.
import type { DockerTarget } from "../io/docker.ts";
import { K2Error, EXIT } from "../runtime/errors.ts";

const BUILT_IN = new Set(["none", "host", "bridge"]);
/** The compose network's name in K2's compose file (compose labels the engine's network with it). */
export const COMPOSE_NETWORK = "k2-net";

/** `override` (--network) if given, else the network k2-clickhouse is on (compose's k2-net when it is on several). */
export async function clickhouseNetwork(d: DockerTarget, override?: string): Promise<string> {
  if (override) return override;
  const i = await d.docker
    .getContainer("k2-clickhouse")
    .inspect()
    .catch(() => null); // no such container: said below
  if (!i)
    throw new K2Error(
      `no container k2-clickhouse on ${d.host}: start the stack, or name the network with --network`,
      EXIT.notFound,
    );
  const nets = Object.keys(i.NetworkSettings.Networks).filter((n) => !BUILT_IN.has(n));
  if (nets.length === 1) return nets[0]!;
  for (const n of nets) {
    const labels = (await d.docker.getNetwork(n).inspect()).Labels ?? {};
    if (labels["com.docker.compose.network"] === COMPOSE_NETWORK) return n;
  }
  throw new K2Error(
    `k2-clickhouse is on ${nets.length ? nets.join(", ") : "no network"}: name the one to partition with --network`,
    EXIT.usage,
  );
}
