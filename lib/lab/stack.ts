// The lab's containers: one per K2 service, named and labelled as the real stack
// (k2-<service>, com.k2.service/tier/version, com.k2.exchange), plus com.k2.lab=true.
// The image is made offline by `docker import` of a busybox-static root filesystem; every
// container runs with --network none. The lab only ever touches containers it labelled.

import { existsSync, statSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import type { DockerTarget } from "../io/docker.ts";
import { inspectIfAny } from "../io/docker.ts";
import { bin, isInstalled, missingLine } from "../io/packages.ts";
import { COMPOSE_NETWORK } from "../k2/network.ts";
import { COMPOSE_SUBNET, type Healthcheck, SERVICES, type Service } from "../k2/stack.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { labStackDir } from "../runtime/paths.ts";
import { Conduits, HANDLER_CMD } from "./conduit.ts";
import { EXCHANGES } from "./instruments.ts";
import { LabTopics } from "./topics.ts";

const LAB_TAG = "2";
const LAB_IMAGE = `k2-lab/busybox:${LAB_TAG}`;

/**
 * pgrep as the handlers' healthcheck runs it (`pgrep -f java`), which Debian's busybox-static lacks: exit 0 when
 * another process's command line holds the pattern. Only -f is accepted, as that is all the check uses.
 */
const PGREP_STANDIN = `#!/bin/sh
# pgrep stand-in (K2 lab): pgrep -f <pattern>
[ "$1" = -f ] && [ -n "$2" ] || { echo "pgrep (K2 lab stand-in): only 'pgrep -f <pattern>'" >&2; exit 2; }
for d in /proc/[0-9]*; do
  p=\${d#/proc/}; [ "$p" = $$ ] && continue
  tr '\\0' ' ' < "$d/cmdline" 2>/dev/null | grep -q -- "$2" && { echo "$p"; exit 0; }
done
exit 1
`;

/** Idle until stopped; the trap makes `docker stop` quick. */
export const IDLE = "trap 'exit 0' TERM INT; while :; do sleep 1; done";

export async function ensureLabImage(engine: DockerTarget): Promise<void> {
  const have = await engine.docker
    .getImage(LAB_IMAGE)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (have) return;
  if (!isInstalled("busybox")) throw new K2Error(missingLine(["busybox"]), EXIT.notFound);
  const root = await mkdtemp(join(tmpdir(), "k2-rootfs-"));
  try {
    await mkdir(join(root, "bin"));
    await mkdir(join(root, "tmp"));
    await copyFile(bin("busybox"), join(root, "bin", "busybox"));
    const applets = (await new Response(Bun.spawn([bin("busybox"), "--list"]).stdout).text())
      .split("\n")
      .filter((a) => /^[\w.[-]+$/.test(a) && a !== "busybox");
    for (const a of applets) await symlink("busybox", join(root, "bin", a));
    await Bun.write(join(root, "bin", "pgrep"), PGREP_STANDIN);
    await chmod(join(root, "bin", "pgrep"), 0o755);
    const tar = Bun.spawn(["tar", "-C", root, "-cf", "-", "."], { stdout: "pipe" });
    const { Readable } = await import("node:stream");
    const source = Readable.fromWeb(tar.stdout as any) as unknown as NodeJS.ReadableStream;
    const stream: NodeJS.ReadableStream = await engine.docker.importImage(source, {
      repo: "k2-lab/busybox",
      tag: LAB_TAG,
    });
    await new Promise<void>((resolve, reject) =>
      engine.docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export type LabContainerSpec = {
  name: string;
  cmd: string;
  /** the name the command runs under ($0 of `sh -c`): what `pgrep -f` and `ps` see */
  argv0?: string;
  labels?: Record<string, string>;
  healthcheck?: Healthcheck;
  memoryMb?: number;
  nanoCpus?: number;
  binds?: string[];
  restart?: { Name: "no" | "on-failure" | "always" | "unless-stopped"; MaximumRetryCount?: number };
  /** a lab network (internal, nothing is sent over it) instead of --network none, with compose's address and aliases */
  network?: { name: string; ipv4?: string; aliases: string[] };
};

/**
 * The lab's compose project: its network is named as compose names K2's (`<project>_k2-net`), on K2's subnet, and
 * internal. Nothing is ever sent over it; it is there so that discovery, the partition test and its exact restore
 * (address and aliases) meet the shapes a deployed stack has.
 */
const LAB_PROJECT = "k2-lab";
export const LAB_NET = `${LAB_PROJECT}_${COMPOSE_NETWORK}`;
async function ensureLabNetwork(engine: DockerTarget) {
  const nets = await engine.docker.listNetworks({ filters: { name: [LAB_NET] } });
  if (!nets.some((n) => n.Name === LAB_NET))
    await engine.docker.createNetwork({
      Name: LAB_NET,
      Internal: true,
      IPAM: { Config: [{ Subnet: COMPOSE_SUBNET }] },
      Labels: {
        "com.k2.lab": "true",
        "com.docker.compose.project": LAB_PROJECT,
        "com.docker.compose.network": COMPOSE_NETWORK,
      },
    });
}

/** As compose labels K2's containers: compose's own project and service, the role as com.k2.service, the tier. */
export const labLabels = (svc: Service): Record<string, string> => ({
  "com.docker.compose.project": LAB_PROJECT,
  "com.docker.compose.service": svc.service,
  "com.k2.service": svc.role,
  ...(svc.tier ? { "com.k2.tier": svc.tier } : {}),
  "com.k2.version": "v2",
  "com.k2.lab": "true",
  ...(svc.exchange ? { "com.k2.exchange": svc.exchange } : {}),
});

/**
 * What each bind source is on the host (device and inode): a folder removed and made again (`rm -rf data`) has the
 * same path but is another folder, and a container made before still sees the old one.
 */
const BIND_IDS = "com.k2.lab.binds";
function bindIds(binds: string[] = []): string {
  const id = (src: string) => {
    const st = statSync(src, { throwIfNoEntry: false });
    return st ? `${st.dev}.${st.ino}` : "missing";
  };
  return binds.map((b) => id(b.split(":")[0]!)).join(",");
}

const cmdOf = (spec: LabContainerSpec) => ["sh", "-c", spec.cmd, ...(spec.argv0 ? [spec.argv0] : [])];
const HEALTH = "com.k2.lab.health";
const healthLabel = (hc?: Healthcheck) => (hc ? labHealthTest(hc).join(" ") : "none");

/**
 * Compose's healthcheck on compose's timing (interval, timeout, retries, start period), run in the lab's container.
 * Where the lab's image can answer the check it runs as compose writes it: a handler runs under the name java
 * (`pgrep -f java`, the image's pgrep stand-in), the rpk stand-in answers `rpk cluster health`, and busybox httpd
 * serves the path a web check's wget asks for (webHealth). The others ask for what the image does not carry
 * (clickhouse-client, pg_isready, python, bash): they check that the container's main process is alive.
 */
function labHealthTest(hc: Healthcheck): string[] {
  const asWritten = hc.test[1] === "pgrep" || hc.test[1]?.startsWith("rpk ") || !!webHealth(hc);
  return asWritten ? hc.test : ["CMD", "kill", "-0", "1"];
}
function labHealthcheck(hc: Healthcheck) {
  const ns = (s: number) => s * 1e9;
  const { intervalS, timeoutS, retries, startPeriodS } = hc;
  return {
    Test: labHealthTest(hc),
    Interval: ns(intervalS),
    Timeout: ns(timeoutS),
    Retries: retries,
    StartPeriod: ns(startPeriodS),
  };
}
/** The port and path of a web healthcheck (`wget --spider -q http://localhost:9090/-/healthy`), if it is one. */
function webHealth(hc: Healthcheck) {
  const m = hc.test[1] === "wget" ? /^http:\/\/localhost:(\d+)(\/\S+)$/.exec(hc.test.at(-1) ?? "") : null;
  return m ? { port: Number(m[1]), path: m[2]! } : null;
}
/** Before the service's own command: busybox httpd on the container's loopback, serving the check's path. */
function serveHealth(hc: Healthcheck | undefined, cmd: string): string {
  const web = hc && webHealth(hc);
  if (!web) return cmd;
  const file = `/tmp/www${web.path}`;
  const dir = file.slice(0, file.lastIndexOf("/"));
  return `mkdir -p ${dir} && touch ${file} && httpd -p 127.0.0.1:${web.port} -h /tmp/www; ${cmd}`;
}

/**
 * Create and start one lab container, or find it as it is: a lab container someone stopped
 * stays stopped (that is what a health check or a fault test is looking at). Refuses a
 * same-named container that is not the lab's.
 */
export async function runLabContainer(
  dockerTarget: DockerTarget,
  spec: LabContainerSpec,
  start = true,
): Promise<Docker.Container> {
  const existing = dockerTarget.docker.getContainer(spec.name);
  const info = await inspectIfAny(dockerTarget, spec.name);
  if (info) {
    if (info.Config.Labels?.["com.k2.lab"] !== "true")
      throw new K2Error(
        `container ${spec.name} exists and is not a lab container: the lab never touches it (stop the real stack or ` +
          `use another Docker engine via DOCKER_HOST)`,
        EXIT.usage,
      );
    const same =
      info.Config.Image === LAB_IMAGE &&
      JSON.stringify(info.Config.Cmd) === JSON.stringify(cmdOf(spec)) &&
      info.Config.Labels?.[HEALTH] === healthLabel(spec.healthcheck) &&
      JSON.stringify(info.HostConfig.Binds ?? []) === JSON.stringify(spec.binds ?? []) &&
      info.Config.Labels?.[BIND_IDS] === bindIds(spec.binds) &&
      info.HostConfig.NetworkMode === (spec.network?.name ?? "none") &&
      (info.HostConfig.RestartPolicy?.Name || "no") === (spec.restart?.Name ?? "no");
    if (same) return existing;
    await existing.remove({ force: true }); // a lab container from an older spec: rebuild it
  }
  // Every lab container needs the offline-built image; a fresh machine has none until this builds it.
  await ensureLabImage(dockerTarget);
  const c = await dockerTarget.docker.createContainer({
    name: spec.name,
    Image: LAB_IMAGE,
    Cmd: cmdOf(spec),
    Labels: {
      "com.k2.lab": "true",
      ...spec.labels,
      [BIND_IDS]: bindIds(spec.binds),
      [HEALTH]: healthLabel(spec.healthcheck),
    },
    Healthcheck: spec.healthcheck && labHealthcheck(spec.healthcheck),
    StopTimeout: 2,
    NetworkingConfig: spec.network && {
      EndpointsConfig: {
        [spec.network.name]: {
          IPAMConfig: spec.network.ipv4 ? { IPv4Address: spec.network.ipv4 } : undefined,
          Aliases: spec.network.aliases,
        },
      },
    },
    HostConfig: {
      NetworkMode: spec.network?.name ?? "none",
      Binds: spec.binds,
      RestartPolicy: spec.restart,
      Memory: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      MemorySwap: spec.memoryMb ? spec.memoryMb * 1024 * 1024 : undefined,
      NanoCpus: spec.nanoCpus,
    },
  });
  if (start) await c.start();
  return c;
}

/**
 * The K2 stack as lab containers, created where missing. Feed handlers carry each exchange's
 * trades through a bind-mounted FIFO (lib/lab/conduit.ts); Spark spikes its CPU once per
 * offload period as the real one does at each offload; the rest idle. Services restart
 * unless-stopped: after the Docker daemon restarts (a reboot) the lab is back up, while a
 * container someone stopped stays stopped; the one-shot init is not restarted at all.
 */
export async function ensureLabStack(
  dockerTarget: DockerTarget,
  o: { offloadPeriodMs?: number } = {},
): Promise<Conduits> {
  const conduits = new Conduits(labStackDir()).setup();
  const topics = new LabTopics(labStackDir()).install();
  await ensureLabNetwork(dockerTarget);
  const period = Math.max(4, Math.round((o.offloadPeriodMs ?? 20_000) / 1000));
  const commands: Partial<Record<string, { cmd: string; argv0?: string; binds?: string[] }>> = {
    // sleep, then spin until the clock has ticked over twice (1 to 2 s): one spike per period
    "spark-iceberg": {
      cmd:
        `trap 'exit 0' TERM INT; while :; do sleep ${period - 2}; e=$(($(date +%s)+1)); while [ $(date +%s) -le ` +
        `$e ]; do :; done; done`,
    },
    // a handler's process is named as its JVM is, for compose's `pgrep -f java`
    ...Object.fromEntries(
      EXCHANGES.map((e) => [`feed-handler-${e}`, { cmd: HANDLER_CMD, argv0: "java", binds: conduits.binds(e) }]),
    ),
    // the topics and the rpk stand-in the latency load execs (lib/lab/topics.ts)
    redpanda: { cmd: IDLE, binds: topics.binds() },
    // K2's Prometheus image ships promtool: the lab's carries this machine's (Debian's, with the libc it links)
    prometheus: { cmd: IDLE, binds: promtoolBinds() },
  };
  // compose limits above the machine's cores are clamped (the engine refuses them)
  const { NCPU } = await dockerTarget.docker.info();
  let created = false;
  for (const s of SERVICES) {
    const custom = commands[s.service];
    const before = (await inspectIfAny(dockerTarget, s.container))?.Id;
    const made = await runLabContainer(dockerTarget, {
      name: s.container,
      labels: labLabels(s),
      healthcheck: s.healthcheck,
      cmd: s.oneShot ? "exit 0" : serveHealth(s.healthcheck, custom?.cmd ?? IDLE),
      argv0: custom?.argv0,
      binds: custom?.binds,
      // compose names each container by its container name and service on k2-net
      network: { name: LAB_NET, ipv4: s.ipv4, aliases: [s.container, s.service] },
      memoryMb: s.limit.memMb,
      nanoCpus: Math.round(Math.min(s.limit.cpu, NCPU) * 1e9),
      restart: s.oneShot ? undefined : { Name: "unless-stopped" },
    });
    created = made.id !== before || created;
  }
  // made or rebuilt (a new spec): its first check comes an interval after start; one found running is not waited
  if (created) await waitHealthy(dockerTarget);
  return conduits;
}

/** Debian's promtool and the C library it links, read-only, for `docker exec k2-prometheus promtool` (if installed). */
function promtoolBinds(): string[] | undefined {
  const libs = ["/lib/x86_64-linux-gnu", "/lib64"].filter((d) => existsSync(d));
  return isInstalled("prometheus")
    ? [`${bin("promtool")}:/usr/local/bin/promtool:ro`, ...libs.map((d) => `${d}:${d}:ro`)]
    : undefined;
}

/** New containers with a healthcheck report "starting" until their first check, one interval after start: wait. */
async function waitHealthy(engine: DockerTarget, timeoutMs = 25_000) {
  const until = Date.now() + timeoutMs;
  for (const s of SERVICES.filter((x) => x.healthcheck)) {
    while (Date.now() < until) {
      const i = await engine.docker.getContainer(s.container).inspect();
      if (!i.State.Running || (i.State as any).Health?.Status !== "starting") break;
      await Bun.sleep(250);
    }
  }
}
