// The Docker engine through dockerode. DOCKER_HOST forms:
//   unset                          -> unix:///var/run/docker.sock
//   unix:///run/user/1000/docker.sock
//   tcp://127.0.0.1:2375           (plain HTTP; loopback only in this project's tests)
import type Docker from "dockerode";
import { EXIT, firstLine, K2Error } from "../runtime/errors.ts";
import { ENABLE_DOCKER } from "./engine.ts";

export type DockerTarget = { docker: Docker; host: string };

function dockerFromEnv(env: Record<string, string | undefined> = process.env): DockerTarget {
  // dockerode and its HTTP stack take most of a second of CPU to load: required when an engine is first asked for
  const Docker = require("dockerode") as typeof import("dockerode");
  const host = env.DOCKER_HOST?.trim() || "unix:///var/run/docker.sock";
  if (host.startsWith("unix://")) return { docker: new Docker({ socketPath: host.slice("unix://".length) }), host };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host);
  if (!m)
    throw new K2Error(
      `invalid DOCKER_HOST: ${JSON.stringify(host)} (expected unix:///var/run/docker.sock or tcp://127.0.0.1:2375)`,
    );
  return { docker: new Docker({ host: m[1], port: Number(m[2]), protocol: "http" }), host };
}

/** Connect and ping; the error names DOCKER_HOST and the socket it tried. */
export async function connectDocker(env = process.env): Promise<DockerTarget> {
  const t = dockerFromEnv(env);
  try {
    await withTimeout(t.docker.ping(), 5000);
  } catch (e) {
    throw new K2Error(
      `Docker engine not reachable at ${t.host} (${firstLine(e)}): start Docker or set DOCKER_HOST ` +
        `(\`${ENABLE_DOCKER}\` gives the lab one)`,
      EXIT.unreachable,
    );
  }
  return t;
}

/** The engine if reachable, else the reason: for notebooks that skip Docker work and say so. */
export async function probeDocker(env = process.env): Promise<DockerTarget | { unreachable: string }> {
  try {
    return await connectDocker(env);
  } catch (e) {
    return { unreachable: (e as Error).message };
  }
}

export type ContainerState = {
  name: string;
  service?: string;
  exchange?: string;
  lab: boolean;
  state: string; // created | running | paused | restarting | exited | dead | missing
  health?: string; // starting | healthy | unhealthy (only with a healthcheck)
  restartCount: number;
  oomKilled: boolean;
  exitCode: number | null;
  startedAt: string | null;
  finishedAt: string | null;
};

/** Every container whose name starts with the prefix, inspected (state, health, restarts). */
export async function k2Containers(engine: DockerTarget, prefix = "k2-"): Promise<ContainerState[]> {
  const list = await engine.docker.listContainers({ all: true, filters: { name: [`^/${prefix}`] } });
  return Promise.all(
    list.map(async (c) => {
      const i = await engine.docker.getContainer(c.Id).inspect();
      const s = i.State as Docker.ContainerInspectInfo["State"] & { Health?: { Status: string } };
      const zero = (d?: string) => (!d || d.startsWith("0001-") ? null : d);
      return {
        name: i.Name.replace(/^\//, ""),
        service: i.Config.Labels?.["com.k2.service"],
        exchange: i.Config.Labels?.["com.k2.exchange"],
        lab: i.Config.Labels?.["com.k2.lab"] === "true",
        state: s.Status,
        health: s.Health?.Status,
        restartCount: i.RestartCount ?? 0,
        oomKilled: !!s.OOMKilled,
        exitCode: s.Status === "exited" ? s.ExitCode : null,
        startedAt: zero(s.StartedAt),
        finishedAt: zero(s.FinishedAt),
      };
    }),
  );
}

/** No answer in time: the work may still be going on (slow, not failed). */
export class Overrun extends Error {}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Overrun(`no answer within ${ms} ms`)), ms)),
  ]);
}

/** Run a command in a container (docker exec) to its end: its exit code, and stdout and stderr as one text. */
export async function execIn(
  c: Docker.Container,
  cmd: string[],
  cwd?: string,
): Promise<{ exitCode: number; output: string }> {
  const exec = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, WorkingDir: cwd });
  const stream = await exec.start({});
  const { PassThrough } = await import("node:stream");
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (b: Buffer) => chunks.push(b));
  // the attach stream multiplexes stdout and stderr in frames: the modem takes them apart
  c.modem.demuxStream(stream, out, out);
  await new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
  });
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, output: Buffer.concat(chunks).toString("utf8").trim() };
}

/** How a run names the Docker engine it measured (stored in its manifest, compared by the sign-off). */
export const dockerLabel = (host: string) => `Docker engine at ${host}`;

/**
 * A container's inspect, or undefined when the engine says there is no such container (404). Any other failure (the
 * engine gone, a timeout) is one line naming the engine: "no container X" would be the wrong thing to say then.
 */
export async function inspectIfAny(
  dockerTarget: DockerTarget,
  name: string,
): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await dockerTarget.docker.getContainer(name).inspect();
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return undefined;
    throw new K2Error(
      `the Docker engine at ${dockerTarget.host} did not answer about ${name}: ${firstLine(e)}`,
      EXIT.unreachable,
    );
  }
}
