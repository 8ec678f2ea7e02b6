// A Docker engine for the lab. The lab's containers need one; a fresh Debian machine has none. As root with apt, this
// installs Debian's docker.io and busybox-static (the lab image is built offline from it) and starts a private
// dockerd on the default socket: vfs storage, no iptables and no default bridge, so it routes nothing and changes no
// firewall (lab containers run with --network none or an internal network). An engine that already answers is used
// as it is, and only the lab's labelled containers are ever touched on it. Where this cannot run (not root, no apt),
// the notebooks run without containers and say so, naming the command that enables them: `sudo bun run docker`.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "../runtime/errors.ts";
import { bin, installPackages, missingLine, NEEDS } from "./packages.ts";

export const DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";
/** The one command that gives a machine the lab's engine, as the notebooks' messages name it. */
export const ENABLE_DOCKER = "sudo bun run docker";
/** The private engine's data and log folder. */
export const LAB_DOCKER_ROOT = "/var/lib/k2-lab-docker";

const ping = (host: string) =>
  fetch("http://localhost/_ping", { unix: host.replace(/^unix:\/\//, "") } as RequestInit & { unix: string }).then(
    (r) => r.ok,
    () => false,
  );

export type Engine = { host: string; started: boolean; installed: string[] } | { unavailable: string };

/**
 * The engine at DOCKER_HOST (or the default socket) if it answers; else, on the default socket only (or on `startOn`,
 * a socket of the caller's: the tests' second engine), install what is missing and start the private one. A
 * DOCKER_HOST set to an engine that does not answer is otherwise left alone: that is a user's engine, down.
 */
export async function ensureEngine(
  log: (m: string) => void = () => {},
  env: Record<string, string | undefined> = process.env,
  dataRoot = LAB_DOCKER_ROOT,
  startOn = DEFAULT_DOCKER_HOST,
): Promise<Engine> {
  const host = env.DOCKER_HOST?.trim() || DEFAULT_DOCKER_HOST;
  if (await ping(host)) return { host, started: false, installed: [] };
  if (host !== startOn) return { unavailable: `the Docker engine at DOCKER_HOST=${host} does not answer` };
  if (process.getuid?.() !== 0)
    return { unavailable: `no Docker engine answers, and starting the lab's needs root: ${ENABLE_DOCKER}` };
  const install = await installPackages(["dockerd", "busybox"], log);
  if (install.missing.length) return { unavailable: `${install.reason}: ${missingLine(install.missing)}` };
  log(`starting a private Docker engine on ${host} (vfs storage, no iptables, data and log in ${dataRoot})`);
  mkdirSync(dataRoot, { recursive: true });
  const p = Bun.spawn(
    [
      "setsid",
      bin("dockerd"),
      "--storage-driver=vfs",
      "--iptables=false",
      "--ip-masq=false",
      "--bridge=none",
      `--data-root=${dataRoot}`,
      `--host=${host}`,
      // a second engine beside the default one keeps its own state, containerd and pid file
      ...(host === DEFAULT_DOCKER_HOST
        ? []
        : [`--exec-root=${join(dataRoot, "exec")}`, `--pidfile=${join(dataRoot, "pid")}`]),
    ],
    { stdout: "ignore", stderr: Bun.file(join(dataRoot, "dockerd.log")), stdin: "ignore" },
  );
  p.unref(); // it outlives this process: the next notebook, and the next run, find it answering
  for (let i = 0; i < 150; i++) {
    if (await ping(host)) return { host, started: true, installed: install.installed.map((n) => NEEDS[n].pkg) };
    await Bun.sleep(200);
  }
  const logFile = join(dataRoot, "dockerd.log");
  const last = existsSync(logFile) ? readFileSync(logFile, "utf8").trim().split("\n").at(-1) : "";
  return { unavailable: `dockerd did not answer on ${host} within 30 s (${logFile}: ${last || "empty"})` };
}

if (import.meta.main) {
  if (Bun.argv.includes("--help")) {
    console.log(`usage: sudo bun run docker

Gives the lab a Docker engine: uses the one at DOCKER_HOST (or ${DEFAULT_DOCKER_HOST}) if it answers; else, as
root on Debian, installs ${NEEDS.dockerd.pkg} and ${NEEDS.busybox.pkg} with apt-get and starts a private dockerd
on ${DEFAULT_DOCKER_HOST} (vfs storage, no iptables, no default bridge). The lab only ever touches
containers it labelled com.k2.lab=true. Exits 3 when no engine can be had, saying why.`);
    process.exit(0);
  }
  const e = await ensureEngine((m) => console.error(`docker: ${m}`));
  if ("unavailable" in e) {
    console.error(`docker: error: ${e.unavailable}`);
    process.exit(EXIT.unreachable);
  }
  console.log(`docker: ${e.started ? "started" : "found"} the engine at ${e.host}`);
}
