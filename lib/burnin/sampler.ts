// The burn-in sampler. One round reads every K2 container at once, one one-shot stats read each (no 2 s wait per
// container, moby#40437; a one-shot read waits at most for the daemon's next 1 s collection), so a round costs about
// half of `docker stats --no-stream`, which reads twice. CPU comes from the cumulative counters between this round's
// read and the previous round's (the docker CLI's formula: Δ container CPU / Δ system CPU × online CPUs, in cores):
// over a 5-minute interval that is the average the budget speaks of, where the CLI's is one second's. The first round,
// and the first after a container restarted, has none. Memory is the CLI's: usage less inactive file cache. Each round
// is appended to samples.csv and synced before the next.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import type Docker from "dockerode";
import { type ContainerState, type DockerTarget, k2Containers, withTimeout } from "../io/docker.ts";
import { SERVICES } from "../k2/stack.ts";
import { firstLine } from "../runtime/errors.ts";

const COLUMNS = [
  "round",
  "ts",
  "container",
  "service",
  "state",
  "health",
  "restarts",
  "oom_killed",
  "cpu_cores",
  "cpu_total_ns",
  "mem_bytes",
  "mem_limit_bytes",
  "note",
] as const;
export type Row = Record<(typeof COLUMNS)[number], string | number | boolean | null>;
const ROUND_END = "*round-end*";

type Stats = Docker.ContainerStats & { memory_stats: { stats?: Record<string, number> } };

/** The CLI's CPU between two readings: (Δ container CPU / Δ system CPU) × online CPUs, in cores. */
export function cpuBetween(
  a: { cpuNs: number; systemNs: number },
  b: { cpuNs: number; systemNs: number; cpus: number },
): number | null {
  const dc = b.cpuNs - a.cpuNs;
  const ds = b.systemNs - a.systemNs;
  const cpus = b.cpus;
  return ds > 0 && dc >= 0 ? (dc / ds) * cpus : null;
}
/** The CLI's memory: usage less inactive file cache (cgroup v2 `inactive_file`, v1 `total_inactive_file`). */
export function memoryUsed(reading: Stats): number {
  const st = reading.memory_stats.stats ?? {};
  const cache = st.inactive_file ?? st.total_inactive_file ?? 0;
  return Math.max(0, (reading.memory_stats.usage ?? 0) - (cache < (reading.memory_stats.usage ?? 0) ? cache : 0));
}

export type RoundOptions = { prefix: string; expected: string[] };
/** Each running container's cumulative counters at the last round, keyed by name: the CPU of the next is from them. */
export type Counters = Map<string, { cpuNs: number; systemNs: number; cpus: number; startedAt: string | null }>;

/** The compose service of a K2 container, "" for one not in the stack. */
export const serviceOf = (container: string) => SERVICES.find((s) => s.container === container)?.service ?? "";

/** A row with no reading: the engine away ("*"), or an expected container that does not exist. */
export const emptyRow = (
  round: number,
  ts: string,
  container: string,
  service: string,
  state: string,
  note: string,
): Row => ({
  round,
  ts,
  container,
  service,
  state,
  health: "",
  restarts: null,
  oom_killed: false,
  cpu_cores: null,
  cpu_total_ns: null,
  mem_bytes: null,
  mem_limit_bytes: null,
  note,
});

export async function sampleRound(
  dockerTarget: DockerTarget,
  round: number,
  options: RoundOptions,
  counters: Counters = new Map(),
): Promise<Row[]> {
  const ts = new Date().toISOString();
  let states: ContainerState[];
  try {
    states = await withTimeout(k2Containers(dockerTarget, options.prefix), 10_000);
  } catch (e) {
    // The engine went away: record the gap and carry on next round.
    return [emptyRow(round, ts, "*", "", "engine-unreachable", firstLine(e))];
  }
  const running = states.filter((s) => s.state === "running");
  const read = () =>
    Promise.all(
      running.map(
        (s) =>
          (
            dockerTarget.docker
              .getContainer(s.name)
              .stats({ stream: false, "one-shot": true } as any) as unknown as Promise<Stats>
          ).catch(() => null), // stopped between the list and the read: this round records it as not running
      ),
    );
  const reads = await read();
  const rows: Row[] = states.map((s) => {
    const i = running.indexOf(s),
      b = reads[i];
    const base = {
      round,
      ts,
      container: s.name,
      service: s.service ?? "",
      state: s.state,
      health: s.health ?? "",
      restarts: s.restartCount,
      oom_killed: s.oomKilled,
      note: s.exitCode !== null ? `exit ${s.exitCode}` : "",
    };
    if (!b) return { ...base, cpu_cores: null, cpu_total_ns: null, mem_bytes: null, mem_limit_bytes: null };
    const now = {
      cpuNs: b.cpu_stats.cpu_usage.total_usage,
      systemNs: b.cpu_stats.system_cpu_usage ?? 0,
      cpus: b.cpu_stats.online_cpus || b.cpu_stats.cpu_usage.percpu_usage?.length || 1,
      startedAt: s.startedAt,
    };
    const before = counters.get(s.name);
    counters.set(s.name, now);
    return {
      ...base,
      cpu_cores: before && before.startedAt === now.startedAt ? cpuBetween(before, now) : null,
      cpu_total_ns: b.cpu_stats.cpu_usage.total_usage,
      mem_bytes: memoryUsed(b),
      mem_limit_bytes: b.memory_stats.limit ?? null,
    };
  });
  // Expected containers that do not exist are recorded as missing, never skipped.
  for (const name of options.expected)
    if (!states.some((s) => s.name === name)) rows.push(emptyRow(round, ts, name, serviceOf(name), "missing", ""));
  return rows;
}

const csvCell = (v: Row[keyof Row]) => {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** Append one round and its end marker, then fsync: a completed round survives a SIGKILL. */
export function appendRound(path: string, rows: Row[]) {
  const fresh = !existsSync(path);
  const fd = openSync(path, "a");
  try {
    // the round is complete only once its marker is on disk (what --resume reads back)
    const round = Number(rows[0]?.round ?? 0);
    const marker = emptyRow(round, new Date().toISOString(), ROUND_END, "", "", `rows=${rows.length}`);
    const text =
      (fresh ? COLUMNS.join(",") + "\n" : "") +
      [...rows, marker].map((r) => COLUMNS.map((c) => csvCell(r[c])).join(",")).join("\n") +
      "\n";
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * For --resume: the last round whose end marker was written, with anything after it (a round
 * cut off by SIGKILL) truncated away, so no completed round is lost and none is duplicated.
 */
export function lastCompleteRound(path: string): number {
  if (!existsSync(path)) return 0;
  const text = readFileSync(path, "utf8");
  const re = new RegExp(`^(\\d+),[^,]*,${ROUND_END.replace(/\*/g, "\\*")},.*$`, "gm");
  let last = 0,
    end = text.indexOf("\n") + 1; // keep the header
  for (const m of text.matchAll(re)) {
    last = Number(m[1]);
    end = m.index! + m[0].length + 1;
  }
  if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
  return last;
}

export { ROUND_END };
