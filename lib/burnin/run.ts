// Long-running control of the burn-in sampler: start (foreground with a progress bar, or
// detached with its pid in state.json), status, stop, and --resume after a crash or SIGKILL.
// The run lives in data/02-burn-in/<run-id>/: state.json, samples.csv (appended and synced
// round by round), manifest.json, sampler.log when detached.
import { existsSync, readFileSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { type DockerTarget, dockerLabel } from "../io/docker.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { writeAtomic } from "../runtime/fsx.ts";
import { dataDir } from "../runtime/paths.ts";
import { alive, spawnDetached } from "../runtime/process.ts";
import { progress } from "../runtime/progress.ts";
import { listRuns, type Manifest, newRunId, openLiveRun, writeManifest } from "../runtime/store.ts";
import { formatDuration } from "../runtime/units.ts";
import { ImportError, parseStatsExport } from "./import.ts";
import {
  appendRound,
  type Counters,
  emptyRow,
  lastCompleteRound,
  ROUND_END,
  type Row,
  sampleRound,
  serviceOf,
} from "./sampler.ts";
import type { BurnInFetched } from "./summary.ts";

export const NOTEBOOK = "02-burn-in";
export type BurnInState = {
  runId: string;
  pid: number;
  host: string;
  startedAt: number;
  durationMs: number;
  intervalMs: number;
  expectedRounds: number;
  prefix: string;
  expected: string[];
  lab: boolean;
  offloadPeriodMs: number;
  status: "running" | "stopped" | "completed";
  updatedAt: number;
};
export type StartOptions = {
  durationMs: number;
  intervalMs: number;
  prefix: string;
  expected: string[];
  lab: boolean;
  offloadPeriodMs: number;
};

const stateFile = (dir: string) => join(dir, "state.json");
const saveState = (dir: string, state: BurnInState) =>
  writeAtomic(stateFile(dir), JSON.stringify({ ...state, updatedAt: Date.now() }, null, 2));
const readState = (dir: string): BurnInState => JSON.parse(readFileSync(stateFile(dir), "utf8"));

function manifestFor(state: BurnInState, extra: Partial<Manifest<BurnInFetched>> = {}): Manifest<BurnInFetched> {
  return {
    notebook: NOTEBOOK,
    runId: state.runId,
    title: "Step 2: 24-hour resource burn-in",
    createdAt: new Date(state.startedAt).toISOString(),
    parameters: {
      duration: formatDuration(state.durationMs),
      interval: formatDuration(state.intervalMs),
      expectedRounds: state.expectedRounds,
      prefix: state.prefix,
      lab: state.lab,
      offloadPeriodMs: state.offloadPeriodMs,
      status: state.status,
    },
    target: { kind: "docker", label: dockerLabel(state.host) },
    window: {
      from: new Date(state.startedAt).toISOString(),
      to: new Date(Math.min(Date.now(), state.startedAt + state.durationMs)).toISOString(),
    },
    versions: { "k2-hardening": pkg.version, bun: Bun.version },
    datasets: { samples: { file: "samples.csv", bytes: 0 } },
    ...extra,
  };
}

/** The run to resume or report on: the named one, else the newest with a state file. */
export async function findRun(id?: string): Promise<{ dir: string; state: BurnInState }> {
  const ids = id ? [id] : (await listRuns(NOTEBOOK)).reverse();
  for (const r of ids) {
    const dir = join(dataDir(), NOTEBOOK, r);
    if (existsSync(stateFile(dir))) return { dir, state: readState(dir) };
  }
  throw new K2Error(
    id
      ? `no burn-in run ${id} in data/${NOTEBOOK}/ (or it was imported, not sampled)`
      : `no sampled burn-in run in data/${NOTEBOOK}/: start one with bun notebooks/02-burn-in.ts start`,
    EXIT.notFound,
  );
}

/** Sample in the foreground until the duration is over or SIGINT/SIGTERM; returns the run's folder. */
export async function runSampler(
  docker: DockerTarget,
  options: StartOptions,
  resume?: { dir: string; state: BurnInState },
): Promise<{ dir: string; state: BurnInState; rounds: number }> {
  let dir: string, state: BurnInState;
  if (resume) {
    ({ dir, state } = resume);
    if (state.status === "completed")
      throw new K2Error(`burn-in ${state.runId} already completed: start a new one without --resume`, EXIT.usage);
    if (state.status === "running" && state.pid !== process.pid && alive(state.pid))
      throw new K2Error(
        `burn-in ${state.runId} is still running (pid ${state.pid}): stop it first, or let it be`,
        EXIT.usage,
      );
  } else {
    const runId = newRunId();
    dir = await openLiveRun(NOTEBOOK, runId);
    state = {
      runId,
      pid: process.pid,
      host: docker.host,
      startedAt: Date.now(),
      durationMs: options.durationMs,
      intervalMs: options.intervalMs,
      expectedRounds: Math.floor(options.durationMs / options.intervalMs),
      prefix: options.prefix,
      expected: options.expected,
      lab: options.lab,
      offloadPeriodMs: options.offloadPeriodMs,
      status: "running",
      updatedAt: Date.now(),
    };
  }
  state = { ...state, pid: process.pid, status: "running" };
  await saveState(dir, state);
  await writeManifest(dir, manifestFor(state));
  const samples = join(dir, "samples.csv");
  const done = lastCompleteRound(samples); // also cuts off a round that SIGKILL interrupted
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  const bar = progress(`burn-in ${state.runId}`, state.expectedRounds);
  // Rounds whose time passed while no sampler ran are gaps, not made up later.
  let round = Math.max(done + 1, Math.floor((Date.now() - state.startedAt) / state.intervalMs) + 1);
  let taken = done;
  const counters: Counters = new Map(); // each round's CPU is from the previous round's counters
  try {
    for (; round <= state.expectedRounds && !stop; round++) {
      const due = state.startedAt + (round - 1) * state.intervalMs;
      while (!stop && Date.now() < due) await Bun.sleep(Math.min(250, due - Date.now()));
      if (stop) break;
      const rows = await sampleRound(docker, round, { prefix: state.prefix, expected: state.expected }, counters);
      appendRound(samples, rows);
      taken = round;
      bar.update(
        round,
        `round ${round}/${state.expectedRounds}, ETA ` +
          formatDuration(Math.max(0, state.startedAt + (state.expectedRounds - 1) * state.intervalMs - Date.now())),
      );
    }
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    state = { ...state, status: stop ? "stopped" : "completed" };
    await saveState(dir, state);
    await writeManifest(dir, manifestFor(state));
    bar.end(`${countRounds(samples)} rounds in ${state.runId}${stop ? " (stopped)" : ""}`);
  }
  return { dir, state, rounds: taken };
}

/** Complete rounds in a samples file (those with an end marker). */
export function countRounds(samples: string): number {
  if (!existsSync(samples)) return 0;
  return (readFileSync(samples, "utf8").match(new RegExp(`,${ROUND_END.replace(/\*/g, "\\*")},`, "g")) ?? []).length;
}

/** Detach: the same command in a new session, its output in the run's sampler.log. */
export function detach(args: string[]): number {
  const log = join(dataDir(), NOTEBOOK, `sampler-${Date.now()}.log`);
  return spawnDetached(`notebooks/${NOTEBOOK}.ts`, args, log, { CI: "1" });
}

/** The state of a run that was never sampled live: imported from a file, or recorded without an engine. */
function notSampledState(
  runId: string,
  host: string,
  startedAt: number,
  durationMs: number,
  extra: Partial<BurnInState> = {},
): BurnInState {
  return {
    runId,
    pid: 0,
    host,
    startedAt,
    durationMs,
    intervalMs: 0,
    expectedRounds: 0,
    prefix: "",
    expected: [],
    lab: false,
    offloadPeriodMs: THRESHOLDS.offloadIntervalMs,
    status: "completed",
    updatedAt: Date.now(),
    ...extra,
  };
}

/**
 * Import what users already have (the brief's shell-loop file, or `docker stats --format
 * '{{json .}}'` lines) as a completed run, assembled under a hidden name and renamed into
 * place, so a failed import leaves nothing a reader could mistake for data. Returns the run id.
 */
export async function importRun(file: string): Promise<string> {
  if (!existsSync(file)) throw new K2Error(`no such file: ${file}`, EXIT.usage);
  let samples;
  try {
    samples = parseStatsExport(readFileSync(file, "utf8"), basename(file));
  } catch (e) {
    if (e instanceof ImportError) throw new K2Error(`cannot import ${e.message}`, EXIT.data);
    throw e;
  }
  const runId = newRunId();
  const tmp = await openLiveRun(NOTEBOOK, `.${runId}.partial`);
  try {
    const times = [...new Set(samples.map((s) => s.ts))].sort((a, b) => a - b);
    for (const [i, t] of times.entries())
      appendRound(
        join(tmp, "samples.csv"),
        samples
          .filter((s) => s.ts === t)
          .map(
            (s): Row => ({
              ...emptyRow(
                i + 1,
                new Date(s.ts).toISOString(),
                s.container,
                serviceOf(s.container),
                s.state,
                "imported",
              ),
              cpu_cores: s.cpuCores,
              mem_bytes: s.memBytes,
              mem_limit_bytes: s.memLimitBytes,
            }),
          ),
      );
    const span = times.at(-1)! - times[0]!;
    const m = manifestFor(notSampledState(runId, "import", times[0]!, span));
    await writeManifest(tmp, {
      ...m,
      parameters: {
        ...m.parameters,
        source: basename(file),
        interval: "as recorded",
        duration: formatDuration(span),
        expectedRounds: null,
      },
      target: null,
    });
    await rename(tmp, join(dataDir(), NOTEBOOK, runId));
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return runId;
}

/** With no Docker engine the main job still gets a report: a run that records why nothing was sampled. */
export async function noEngineRun(reason: string): Promise<string> {
  const runId = newRunId();
  const dir = await openLiveRun(NOTEBOOK, runId);
  const m = manifestFor(
    notSampledState(runId, "none", Date.now(), 0, { prefix: "k2-", lab: true, offloadPeriodMs: 0 }),
  );
  await writeManifest(dir, { ...m, datasets: {}, target: null, noEngine: reason });
  return runId;
}
