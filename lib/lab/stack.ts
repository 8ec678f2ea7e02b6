// The lab's containers: one per K2 service, named and labelled as the real stack
// (k2-<service>, com.k2.service/tier/version, com.k2.exchange), plus com.k2.lab=true.
// The image is made offline by `docker import` of a busybox-static root filesystem; every
// container runs with --network none. The lab only ever touches containers it labelled.

import { existsSync, statSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import type { DockerTarget } from "../io/docker.ts";
import { inspectIfAny } from "../io/docker.ts";
import { bin, isInstalled, missingLine } from "../io/packages.ts";
import { COMPOSE_NETWORK } from "../k2/network.ts";
import { COMPOSE_SUBNET, SERVICES, type Service } from "../k2/stack.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { dataDir } from "../runtime/paths.ts";
import { Conduits, HANDLER_CMD } from "./conduit.ts";
import { EXCHANGES } from "./instruments.ts";
import { LabTopics } from "./topics.ts";

const LAB_IMAGE = "k2-lab/busybox:1";

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
    const tar = Bun.spawn(["tar", "-C", root, "-cf", "-", "."], { stdout: "pipe" });
    const { Readable } = await import("node:stream");
    const source = Readable.fromWeb(tar.stdout as any) as unknown as NodeJS.ReadableStream;
    const stream: NodeJS.ReadableStream = await engine.docker.importImage(source, { repo: "k2-lab/busybox", tag: "1" });
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
  labels?: Record<string, string>;
  healthcheck?: boolean;
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
      JSON.stringify(info.Config.Cmd) === JSON.stringify(["sh", "-c", spec.cmd]) &&
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
    Cmd: ["sh", "-c", spec.cmd],
    Labels: { "com.k2.lab": "true", ...spec.labels, [BIND_IDS]: bindIds(spec.binds) },
    // Every check is an exec in the container: at 1 s five of them cost the engine a visible share of two cores.
    Healthcheck: spec.healthcheck
      ? { Test: ["CMD", "true"], Interval: 5e9, Timeout: 2e9, Retries: 1, StartPeriod: 0 }
      : undefined,
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
  const conduits = new Conduits(join(dataDir(), "lab-stack")).setup();
  const topics = new LabTopics(join(dataDir(), "lab-stack")).install();
  await ensureLabNetwork(dockerTarget);
  const period = Math.max(4, Math.round((o.offloadPeriodMs ?? 20_000) / 1000));
  const commands: Partial<Record<string, { cmd: string; binds?: string[] }>> = {
    // sleep, then spin until the clock has ticked over twice (1 to 2 s): one spike per period
    "spark-iceberg": {
      cmd:
        `trap 'exit 0' TERM INT; while :; do sleep ${period - 2}; e=$(($(date +%s)+1)); while [ $(date +%s) -le ` +
        `$e ]; do :; done; done`,
    },
    ...Object.fromEntries(EXCHANGES.map((e) => [`feed-handler-${e}`, { cmd: HANDLER_CMD, binds: conduits.binds(e) }])),
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
    created =
      !(await dockerTarget.docker
        .getContainer(s.container)
        .inspect()
        .then(
          () => true,
          () => false,
        )) || created;
    await runLabContainer(dockerTarget, {
      name: s.container,
      labels: labLabels(s),
      healthcheck: s.healthcheck,
      cmd: s.oneShot ? "exit 0" : (custom?.cmd ?? IDLE),
      binds: custom?.binds,
      // compose names each container by its container name and service on k2-net
      network: { name: LAB_NET, ipv4: s.ipv4, aliases: [s.container, s.service] },
      memoryMb: s.limit.memMb,
      nanoCpus: Math.round(Math.min(s.limit.cpu, NCPU) * 1e9),
      restart: s.oneShot ? undefined : { Name: "unless-stopped" },
    });
  }
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

/** New containers with a healthcheck report "starting" until their first check: wait for it. */
async function waitHealthy(engine: DockerTarget, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (const s of SERVICES.filter((x) => x.healthcheck)) {
    while (Date.now() < until) {
      const i = await engine.docker.getContainer(s.container).inspect();
      if (!i.State.Running || (i.State as any).Health?.Status !== "starting") break;
      await Bun.sleep(250);
    }
  }
}
