// The sampler's lifecycle beyond sampling itself: the options a start takes, readying the target,
// running in the background, and the status and stop of a running sampler. Each returns the
// lines to show; the notebook prints them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { requireHealthy } from "../health/run.ts";
import { connectClickHouse } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { loadConfig } from "../k2/config.ts";
import { SERVICES } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { EXIT, K2Error, usageError } from "../runtime/errors.ts";
import { alive } from "../runtime/process.ts";
import { openRun } from "../runtime/store.ts";
import { durationSpec, formatDuration, parseDuration } from "../runtime/units.ts";
import { countRounds, detach, findRun, NOTEBOOK, type StartOptions } from "./run.ts";
import type { BurnInFetched, SampleRow } from "./summary.ts";

export type StartFlags = { duration?: string; interval?: string; prefix?: string; "offload-period"?: string };

/** A start's options: 24 h every 5 min on a stack (the step file), one minute every 5 s on the lab. */
export function startOptions(flags: StartFlags, lab: boolean): StartOptions {
  const durationMs = parseDuration(flags.duration ?? (lab ? "60s" : "24h"), "--duration");
  const intervalMs = parseDuration(flags.interval ?? (lab ? "5s" : "5m"), "--interval");
  if (intervalMs > durationMs)
    throw usageError(
      `invalid --interval: ${formatDuration(intervalMs)} is longer than --duration ${formatDuration(durationMs)}`,
    );
  const offloadPeriod = flags["offload-period"] ?? (lab ? "20s" : durationSpec(THRESHOLDS.offloadIntervalMs));
  return {
    durationMs,
    intervalMs,
    prefix: flags.prefix ?? "k2-",
    expected: SERVICES.map((s) => s.container),
    lab,
    offloadPeriodMs: parseDuration(offloadPeriod, "--offload-period"),
  };
}

/**
 * A stack must have its containers and, unless resuming or skipped, pass the health precondition (a burn-in of an
 * unhealthy stack measures the wrong thing). The lab's containers the notebook creates where missing.
 */
export async function readyStack(
  engine: DockerTarget,
  options: StartOptions,
  checkHealth: boolean,
  skipHealth: boolean,
) {
  if (!(await engine.docker.listContainers({ all: true, filters: { name: [`^/${options.prefix}`] } })).length)
    throw new K2Error(
      `no ${options.prefix}* containers on ${engine.host}: start the K2 stack (docker compose -f ` +
        "docker-compose.v2.yml up -d) or fix --prefix / DOCKER_HOST",
      EXIT.notFound,
    );
  if (!checkHealth) return [];
  const h = await requireHealthy(await connectClickHouse(), skipHealth, loadConfig());
  return [`${NOTEBOOK}: ${"skipped" in h ? `health precondition skipped (${h.skipped})` : h.summary}`];
}

/** Start the sampler in the background and wait (up to 10 s) until it has written its state. */
export async function detachSampler(args: string[]): Promise<string> {
  const pid = detach(["start", "--child", ...args.filter((a) => a !== "--detach")]);
  for (let i = 0; i < 40; i++) {
    await Bun.sleep(250);
    const r = await findRun().catch(() => undefined); // its state file half-written: read again 250 ms on
    if (r?.state.pid === pid)
      return (
        `burn-in ${r.state.runId} sampling in the background (pid ${pid}); ` +
        "bun notebooks/02-burn-in.ts status | stop"
      );
  }
  throw new K2Error(`the detached sampler (pid ${pid}) did not start: see data/02-burn-in/sampler-*.log`, EXIT.data);
}

/** Samples taken of expected, ETA, and the latest complete round's figures. */
export async function samplerStatus(id?: string): Promise<string[]> {
  const { dir, state } = await findRun(id);
  const rounds = countRounds(join(dir, "samples.csv"));
  const running = state.status === "running" && alive(state.pid);
  const eta = state.startedAt + state.durationMs - Date.now();
  const how = running
    ? `running (pid ${state.pid})`
    : state.status === "running"
      ? "not running (the sampler died: resume with start --resume)"
      : state.status;
  const last = await openRun<BurnInFetched>(NOTEBOOK, state.runId)
    .then((r) =>
      r.query<SampleRow>(
        `SELECT container, state, cpu_cores, mem_bytes, restarts FROM {samples} WHERE round = (SELECT max(round) ` +
          `FROM {samples} WHERE container = '*round-end*') AND container NOT IN ('*round-end*', '*') ORDER BY ` +
          `container`,
      ),
    )
    .catch(() => []); // the status line without the samples so far: no engine to ask, or none written yet
  return [
    `burn-in ${state.runId}: ${how}; ${rounds} of ${state.expectedRounds} samples; ` +
      (running && eta > 0 ? `ETA ${formatDuration(eta)}` : "no ETA"),
    ...last.map(
      (r) =>
        `  ${String(r.container).padEnd(26)} ${String(r.state).padEnd(8)} ` +
        (r.cpu_cores === null
          ? ""
          : `${Number(r.cpu_cores).toFixed(3)} cores  ${(Number(r.mem_bytes) / 2 ** 20).toFixed(1)} MB`) +
        (Number(r.restarts) ? `  ${r.restarts} restarts` : ""),
    ),
  ];
}

/** Stop a running sampler cleanly (SIGTERM: it finishes its round and marks the run stopped). */
export async function stopSampler(id?: string): Promise<string> {
  const { dir, state } = await findRun(id);
  if (state.status !== "running" || !alive(state.pid)) return `burn-in ${state.runId} is not running (${state.status})`;
  process.kill(state.pid, "SIGTERM");
  for (let i = 0; i < 120; i++) {
    await Bun.sleep(250);
    const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    if (s.status !== "running")
      return `burn-in ${state.runId} stopped after ${countRounds(join(dir, "samples.csv"))} rounds`;
  }
  throw new K2Error(`burn-in ${state.runId} (pid ${state.pid}) did not stop within 30 s`, EXIT.data);
}
