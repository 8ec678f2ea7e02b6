// Burn-in: the import parser, the analysis on plain arrays, then the sampler on a real
// Docker engine with containers of known behaviour (steady, leaking, OOM, crash loop).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseBytes, parseStatsExport } from "../lib/burnin/import.ts";
import {
  appendRound,
  type Counters,
  cpuBetween,
  lastCompleteRound,
  memoryUsed,
  type Row,
  sampleRound,
} from "../lib/burnin/sampler.ts";
import { analyseService, intervalCpu, spikePeriodicity, stackTotals, type Tidy } from "../lib/burnin/verdict.ts";
import { SERVICES } from "../lib/k2/stack.ts";
import { normal, seeded } from "../lib/lab/random.ts";
import { leakVerdict, theilSen } from "../lib/verdict/trend.ts";
import { engineRelay, ensureDockerEngine, re, runCli, tempDir } from "./helpers.ts";

test("parseBytes: every unit docker prints", () => {
  expect(["0B", "512B", "95kB", "1.5MB", "2GB", "812.5MiB", "1.291GiB", "4KiB"].map(parseBytes)).toEqual([
    0,
    512,
    95e3,
    1.5e6,
    2e9,
    812.5 * 2 ** 20,
    1.291 * 2 ** 30,
    4096,
  ]);
  expect(parseBytes("12 parsecs")).toBeNull();
});

describe("parseStatsExport", () => {
  test("the brief's shell-loop file", () => {
    const s = parseStatsExport(
      "2026-02-19T09:00:00+00:00\nk2-clickhouse,9.48%,1.291GiB / 7.648GiB\nk2-redpanda,102.31%,812.5MiB / " +
        "2GiB\n2026-02-19T09:05:00+00:00\nk2-clickhouse,11.02%,1.3GiB / 7.648GiB\nk2-redpanda,--,-- / --\n",
    );
    expect(s.length).toBe(4);
    expect(s[0]).toMatchObject({
      ts: Date.parse("2026-02-19T09:00:00Z"),
      container: "k2-clickhouse",
      memBytes: 1.291 * 2 ** 30,
      memLimitBytes: 7.648 * 2 ** 30,
      state: "running",
    });
    expect(s[0]!.cpuCores).toBeCloseTo(0.0948, 12);
    expect(s[1]!.cpuCores).toBeCloseTo(1.0231, 10);
    expect(s[3]).toMatchObject({ container: "k2-redpanda", state: "not running", cpuCores: null });
  });
  test("docker stats JSON lines", () => {
    const s = parseStatsExport(
      '2026-02-19T09:00:00Z\n{"BlockIO":"0B / ' +
        '0B","CPUPerc":"0.15%","Container":"ab12","MemPerc":"9.30%","MemUsage":"95.2MiB / ' +
        '1GiB","Name":"k2-minio","NetIO":"0B / 0B","PIDs":"12"}\n',
    );
    expect(s).toEqual([
      {
        ts: Date.parse("2026-02-19T09:00:00Z"),
        container: "k2-minio",
        cpuCores: 0.0015,
        memBytes: 95.2 * 2 ** 20,
        memLimitBytes: 2 ** 30,
        state: "running",
      },
    ]);
  });
  test("a malformed line: the line number and what was expected", () => {
    expect(() =>
      parseStatsExport(
        "2026-02-19T09:00:00Z\nk2-clickhouse,9.48%,1.291GiB / 7.648GiB\nk2-redpanda 102% 812MiB\n",
        "k2-burn-in.csv",
      ),
    ).toThrow(
      "k2-burn-in.csv:3: expected name,CPU%,used / limit (e.g. k2-clickhouse,9.48%,1.291GiB / 7.648GiB), got " +
        '"k2-redpanda 102% 812MiB"',
    );
    expect(() => parseStatsExport("k2-clickhouse,9.48%,1GiB / 2GiB", "f")).toThrow(
      "f:1: a stats line before any timestamp line",
    );
    expect(() => parseStatsExport("2026-02-19T09:00:00Z\nk2-x,9.48%,lots / 2GiB", "f")).toThrow(
      'f:2: memory "lots / 2GiB" is not "used / limit"',
    );
  });
});

describe("trend and leak", () => {
  const rng = seeded(9);
  const series = (slopeMbPerH: number, noiseMb: number, n = 288) =>
    Array.from({ length: n }, (_, i) => ({
      t: (i * 5) / 60,
      y: 200 + slopeMbPerH * ((i * 5) / 60) + noiseMb * normal(rng),
    }));
  test("Theil–Sen recovers a known slope under noise and outliers", () => {
    const s = series(10, 5);
    s[100]!.y += 500; // a spike does not move it
    const t = theilSen(s)!;
    expect(t.slope).toBeGreaterThan(9);
    expect(t.slope).toBeLessThan(11);
    expect(t.low).toBeLessThan(t.slope);
    expect(t.high).toBeGreaterThan(t.slope);
  });
  test("noise alone is not a leak; a steady rise is", () => {
    for (let seed = 0; seed < 20; seed++) expect(leakVerdict(theilSen(series(0, 20)), 5)).toBe("FLAT");
    expect(leakVerdict(theilSen(series(30, 20)), 5)).toBe("LEAK");
  });
});

describe("analyseService and stackTotals", () => {
  const fh = SERVICES.find((s) => s.service === "feed-handler-binance")!; // 0.5 cores, 256 MB
  const rows = (cpu: number[], memMb: number[] = cpu.map(() => 100), extra: Partial<Tidy> = {}): Tidy[] =>
    cpu.map((c, i) => ({
      round: i + 1,
      ts: i * 300_000,
      container: fh.container,
      state: "running",
      restarts: 0,
      oomKilled: false,
      cpuCores: c,
      memBytes: memMb[i]! * 2 ** 20,
      ...extra,
    }));
  test("a brief spike under 2x passes; a sustained one or one over 2x fails", () => {
    expect(analyseService(rows([0.1, 0.1, 0.7, 0.1, 0.1]), fh, fh.container).status).toBe("PASS");
    expect(analyseService(rows([0.1, 0.7, 0.7, 0.7, 0.1]), fh, fh.container).overBudget).toEqual({
      runs: 1,
      spikes: 0,
      sustained: 1,
    });
    expect(analyseService(rows([0.1, 1.2, 0.1]), fh, fh.container).status).toBe("FAIL");
  });
  test("RAM over budget, restarts, OOM, a down container: each fails and says why", () => {
    expect(analyseService(rows([0.1, 0.1], [100, 300]), fh, fh.container).notes).toContain(
      "RAM max 300 MB over its 256 MB budget",
    );
    const r = rows([0.1, 0.1, 0.1]);
    r[2]!.restarts = 2;
    expect(analyseService(r, fh, fh.container).notes).toContain("2 restarts during the window");
    expect(analyseService(rows([0.1], [100], { oomKilled: true }), fh, fh.container).oom).toBe(true);
    const down = rows([0.1, 0.1]);
    down[1] = { ...down[1]!, state: "exited", cpuCores: null, memBytes: null };
    expect(analyseService(down, fh, fh.container).notes).toContain("not running in 1 of 2 samples");
    // the first round of a running container has no CPU yet (it comes from two rounds' counters): still running
    const first = rows([0.1, 0.1, 0.1]);
    first[0] = { ...first[0]!, cpuCores: null };
    const a = analyseService(first, fh, fh.container);
    expect([a.status, a.running, a.notes]).toEqual(["PASS", 3, []]);
  });
  test("stack totals: p99 of per-round sums, RAM against both totals", () => {
    const t = stackTotals([...rows([1, 2]), ...rows([3, 4]).map((r) => ({ ...r, container: "k2-other" }))], {
      cpu: 5,
      memGbPlan: 0.1,
      memGbTable: 0.5,
    })!;
    expect([t.cpuP99, t.cpuStatus, t.memStatusPlan, t.memStatusTable]).toEqual([6, "FAIL", "FAIL", "PASS"]);
  });
  test("spikePeriodicity finds a 15-minute period", () => {
    const s = Array.from({ length: 288 }, (_, i) => ({ ts: i * 300_000, cpu: i % 3 === 0 ? 1.5 : 0.2 }));
    expect(spikePeriodicity(s, 2)).toMatchObject({
      spikes: 96,
      medianIntervalMin: 15,
      status: "PASS",
      confidence: "high",
    });
  });
  const every5min = (n: number, cpu: (i: number) => number) =>
    Array.from({ length: n }, (_, i) => ({ ts: i * 300_000, cpu: cpu(i) }));
  test("periodicity is judged from four periods on, with how sure it is", () => {
    const four = spikePeriodicity(
      every5min(13, (i) => (i % 3 === 0 ? 1.5 : 0.2)),
      2,
    );
    expect(four).toMatchObject({ spikes: 5, status: "PASS", confidence: "medium" });
    expect(four.note).toBe(
      "5 spikes over 4.0 periods, median 15.0 min apart (schedule every 15.0 min); 4 of 4 gaps on schedule: medium " +
        "confidence",
    );
  });
  test("fewer than four periods: NOT CHECKED, with the samples it needs", () =>
    expect(
      spikePeriodicity(
        every5min(12, (i) => (i % 3 === 0 ? 1.5 : 0.2)),
        2,
      ),
    ).toMatchObject({
      status: "NOT CHECKED",
      note:
        "12 samples over 55.0 min hold fewer than 4 periods of 15.0 min: needs 13 samples at this interval " +
        "(60.0 min)",
    }));
  test("samples too sparse for the schedule: NOT CHECKED; a flat CPU over enough periods: WARN", () => {
    const sparse = Array.from({ length: 30 }, (_, i) => ({ ts: i * 600_000, cpu: 0.2 }));
    expect(spikePeriodicity(sparse, 2)).toMatchObject({
      status: "NOT CHECKED",
      note: "samples every 10.0 min cannot show a 15.0 min schedule: sample at least every 7.5 min",
    });
    expect(
      spikePeriodicity(
        every5min(25, () => 0.2),
        2,
      ),
    ).toMatchObject({
      status: "WARN",
      note: "0 spikes over 8.0 periods of 15.0 min: no schedule in Spark's CPU",
    });
  });
});

describe("samples.csv: durable rounds and resume", () => {
  const row = (round: number, c: string): Row => ({
    round,
    ts: "2026-02-19T09:00:00Z",
    container: c,
    service: "",
    state: "running",
    health: "",
    restarts: 0,
    oom_killed: false,
    cpu_cores: 0.1,
    cpu_total_ns: 1,
    mem_bytes: 1,
    mem_limit_bytes: 2,
    note: "",
  });
  test("lastCompleteRound cuts a round a SIGKILL interrupted", () => {
    const f = join(tempDir(), "samples.csv");
    appendRound(f, [row(1, "a"), row(1, "b")]);
    appendRound(f, [row(2, "a"), row(2, "b")]);
    writeFileSync(
      f,
      readFileSync(f, "utf8") + "3,2026-02-19T09:10:00Z,a,,running,,0,false,0.1,1,1,2,\n3,2026-02-19T09:1",
      { flag: "w" },
    );
    expect(lastCompleteRound(f)).toBe(2);
    expect(readFileSync(f, "utf8").trim().split("\n").length).toBe(1 + 2 * 3);
  });
  test("intervalCpu: average cores between rounds from the cumulative counter, unordered and gapped input", () => {
    const at = (s: number) => new Date(Date.UTC(2026, 1, 19, 0, 0, s)).toISOString();
    // 1.5 s of CPU over 10 s, then 0 over 5 s (a restart resets the counter: never negative), a missing reading skipped
    expect(
      intervalCpu([
        { ts: at(10), cpu_total_ns: 2.5e9 },
        { ts: at(0), cpu_total_ns: 1e9 },
        { ts: at(12), cpu_total_ns: null },
        { ts: at(15), cpu_total_ns: "0" },
      ]),
    ).toEqual([
      { ts: Date.parse(at(10)), cpu: 0.15 },
      { ts: Date.parse(at(15)), cpu: 0 },
    ]);
  });
  test("CPU between two rounds' counters and memory as the docker CLI computes them", () => {
    const s = (usage = 100, inactive = 30) =>
      ({ memory_stats: { usage, limit: 1000, stats: { inactive_file: inactive } } }) as any;
    // 0.5 s of CPU per 1 s of 2-CPU system time
    expect(cpuBetween({ cpuNs: 1e9, systemNs: 10e9 }, { cpuNs: 1.5e9, systemNs: 11e9, cpus: 2 })).toBeCloseTo(1.0, 10);
    // a counter that went back (a restart) gives nothing rather than a negative
    expect(cpuBetween({ cpuNs: 2e9, systemNs: 10e9 }, { cpuNs: 1e9, systemNs: 11e9, cpus: 2 })).toBeNull();
    expect(memoryUsed(s(100, 30))).toBe(70);
  });
});

describe("the sampler on a real Docker engine: known behaviours", () => {
  let host: string, docker: import("dockerode");
  const names = ["k2t-steady", "k2t-leak", "k2t-oom", "k2t-crash"];
  const all = [...names, "k2t-still"];
  beforeAll(async () => {
    host = await ensureDockerEngine();
    const { connectDocker } = await import("../lib/io/docker.ts");
    const { ensureLabImage, runLabContainer, IDLE } = await import("../lib/lab/stack.ts");
    const t = await connectDocker({ DOCKER_HOST: host });
    docker = t.docker;
    for (const n of all)
      await docker
        .getContainer(n)
        .remove({ force: true })
        .catch(() => {});
    await ensureLabImage(t);
    // no child processes: memory that holds still
    await runLabContainer(t, { name: "k2t-still", cmd: "exec sleep 100000" });
    // Memory grows ~100 kB every 0.25 s in the shell's own heap: about 1.4 GB/h.
    // It counts its iterations in /tmp/n: the ground truth of how fast it grew, however busy the machine.
    const grow =
      `i=0; x=; while :; do x="$x$(head -c 100000 /dev/zero | tr '\\0' a)"; i=$((i+1)); echo $i > /tmp/n; ` +
      "sleep 0.25; done";
    await runLabContainer(t, { name: "k2t-steady", cmd: IDLE });
    await runLabContainer(t, { name: "k2t-leak", cmd: grow, memoryMb: 512 });
    await runLabContainer(t, {
      name: "k2t-oom",
      cmd: `x=; while :; do x="$x$(head -c 1000000 /dev/zero | tr '\\0' a)"; done`,
      memoryMb: 24,
    });
    await runLabContainer(t, {
      name: "k2t-crash",
      cmd: "sleep 0.5; exit 1",
      restart: { Name: "on-failure", MaximumRetryCount: 5 },
    });
  }, 120_000);
  afterAll(async () => {
    for (const n of all)
      await docker
        ?.getContainer(n)
        .remove({ force: true })
        .catch(() => {});
  });

  test("the brief's loop output, imported, gives the same numbers as a direct sample", async () => {
    const { connectDocker } = await import("../lib/io/docker.ts");
    const t = await connectDocker({ DOCKER_HOST: host });
    // The brief's loop body, verbatim but for the container list, run at the same time as one sampler round.
    const loop = Bun.spawn(
      [
        "sh",
        "-c",
        'echo "$(date -Iseconds)"; docker stats --no-stream --format "{{.Name}},{{.CPUPerc}},{{.MemUsage}}" k2t-still',
      ],
      { stdout: "pipe", env: { ...process.env, DOCKER_HOST: host } },
    );
    // the sampler's CPU is from the counters between two rounds: a round before, then one alongside the loop
    const counters: Counters = new Map();
    await sampleRound(t, 1, { prefix: "k2t-still", expected: [] }, counters);
    const [text, direct] = await Promise.all([
      new Response(loop.stdout).text(),
      sampleRound(t, 2, { prefix: "k2t-still", expected: [] }, counters),
    ]);
    const imported = parseStatsExport(text, "loop.csv");
    const a = imported.find((s) => s.container === "k2t-still")!,
      b = direct.find((r) => r.container === "k2t-still")!;
    console.log(
      `import vs direct sample, k2t-still: memory ${a.memBytes} vs ${b.mem_bytes} bytes, limit ${a.memLimitBytes} vs ` +
        `${b.mem_limit_bytes}, CPU ${a.cpuCores} vs ${Number(b.cpu_cores).toFixed(4)} cores`,
    );
    // the CLI prints three or four significant digits ("632KiB", "512MiB")
    expect(Math.abs(a.memBytes! - Number(b.mem_bytes)) / Number(b.mem_bytes)).toBeLessThan(0.01);
    expect(Math.abs(a.memLimitBytes! - Number(b.mem_limit_bytes)) / Number(b.mem_limit_bytes)).toBeLessThan(0.001);
    expect(Math.abs(a.cpuCores! - Number(b.cpu_cores))).toBeLessThan(0.01);
  }, 60_000);

  test("sampled for ~25 s, the analysis flags exactly the leak, the OOM and the restarts", async () => {
    const { connectDocker, execIn } = await import("../lib/io/docker.ts");
    const t = await connectDocker({ DOCKER_HOST: host });
    const f = join(tempDir(), "samples.csv");
    const t0 = Date.now();
    const counters: Counters = new Map();
    const leaker = t.docker.getContainer("k2t-leak");
    // the container's own count of iterations, and the memory the engine says it holds (as the sampler reads it), at
    // the start and the end of the sampling
    const grown = async () => ({
      at: Date.now(),
      n: Number((await execIn(leaker, ["cat", "/tmp/n"])).output),
      mem: memoryUsed(await leaker.stats({ stream: false })),
    });
    const first = await grown();
    const counts = [first];
    for (let round = 1; round <= 12; round++) {
      appendRound(f, await sampleRound(t, round, { prefix: "k2t-", expected: names }, counters));
      counts.push(await grown());
      await Bun.sleep(Math.max(0, t0 + round * 2000 - Date.now()));
    }
    const last = counts.at(-1)!;
    const { localEngine } = await import("../lib/io/clickhouse.ts");
    const raw = (await (
      await localEngine().query({
        query: `SELECT * FROM file('${f}', CSVWithNames) WHERE container != '*round-end*'`,
        format: "JSONEachRow",
      })
    ).json()) as any[];
    const tidy: Tidy[] = raw.map((r) => ({
      round: r.round,
      ts: Date.parse(r.ts),
      container: r.container,
      state: r.state,
      restarts: r.restarts,
      oomKilled: r.oom_killed === true || r.oom_killed === "true",
      cpuCores: r.cpu_cores,
      memBytes: r.mem_bytes,
    }));
    const verdicts = Object.fromEntries(
      names.map((n) => {
        const a = analyseService(
          tidy.filter((r) => r.container === n),
          undefined,
          n,
          { spikeMaxSamples: 2, leakMinMbPerHour: 50 },
        );
        return [
          n,
          {
            leak: a.leak,
            oom: a.oom,
            restarts: a.restarts > 0 || a.notes.some((x) => /restarts/.test(x)),
            slope: Math.round(a.trend?.slope ?? 0),
          },
        ];
      }),
    );
    console.log("burn-in scenarios:", JSON.stringify(verdicts));
    expect(verdicts["k2t-steady"]).toMatchObject({ leak: "FLAT", oom: false, restarts: false });
    expect(verdicts["k2t-leak"]).toMatchObject({ leak: "LEAK", oom: false, restarts: false });
    expect(verdicts["k2t-oom"]!.oom).toBe(true);
    expect(verdicts["k2t-crash"]!.restarts).toBe(true);
    expect(verdicts["k2t-crash"]!.oom).toBe(false);
    // The leak's ground truth: the container's own count of 100 kB iterations, read at every round, by the same robust
    // slope the analysis takes of the samples. A busy machine starves the shell in bursts: the average over the window
    // (start to end) then falls well under the rate it grew at while it ran, which is what the median slope measures
    // (CI, four lanes: 1320 MB/h measured, 653 by the engine's reads at start and end, 644 by the count).
    const truth = theilSen(counts.map((c) => ({ t: (c.at - t0) / 3_600_000, y: (c.n * 100_000) / 2 ** 20 })))!.slope;
    const average = ((last.mem - first.mem) * 3_600_000) / (last.at - first.at) / 2 ** 20;
    console.log(
      `leak: measured ${verdicts["k2t-leak"]!.slope} MB/h; it grew ${truth.toFixed(0)} MB/h by its own count ` +
        `(median slope), ${average.toFixed(0)} MB/h on average by the engine's reads at start and end`,
    );
    expect(last.n).toBeGreaterThan(first.n);
    expect(verdicts["k2t-leak"]!.slope).toBeGreaterThan(0.5 * truth);
    expect(verdicts["k2t-leak"]!.slope).toBeLessThan(1.5 * truth);
  }, 120_000);
});

test("runSampler: the engine going away mid-run is a recorded gap, and sampling carries on when it " +
  "returns", async () => {
  const relay = await engineRelay(await ensureDockerEngine());
  const { connectDocker } = await import("../lib/io/docker.ts");
  const { runSampler } = await import("../lib/burnin/run.ts");
  const { ensureLabImage, runLabContainer, IDLE } = await import("../lib/lab/stack.ts");
  const t = await connectDocker({ DOCKER_HOST: relay.host });
  await ensureLabImage(t);
  await runLabContainer(t, { name: "k2t-gap", cmd: IDLE });
  process.env.K2_DATA_DIR = tempDir();
  try {
    // 8 rounds 2.5 s apart; the engine is away from about 6 s to 12 s in.
    const sampling = runSampler(t, {
      durationMs: 20_000,
      intervalMs: 2500,
      prefix: "k2t-gap",
      expected: [],
      lab: false,
      offloadPeriodMs: 900_000,
    });
    await Bun.sleep(6000);
    await relay.down();
    await Bun.sleep(6000);
    await relay.up();
    const { dir } = await sampling;
    const rows = readFileSync(join(dir, "samples.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
    const byRound = (state: string) => [...new Set(rows.filter((r) => r[4] === state).map((r) => Number(r[0])))];
    const gone = byRound("engine-unreachable"),
      sampled = byRound("running");
    console.log(
      `engine away ~6-12 s: rounds sampled ${sampled.join(",")}; rounds recorded as engine-unreachable ` +
        `${gone.join(",")}`,
    );
    expect(gone.length).toBeGreaterThanOrEqual(2);
    expect(sampled.some((r) => r < Math.min(...gone))).toBe(true); // before the gap
    expect(sampled.some((r) => r > Math.max(...gone))).toBe(true); // and after it: sampling carried on
    expect(sampled.filter((r) => gone.includes(r))).toEqual([]);
  } finally {
    delete process.env.K2_DATA_DIR;
    await t.docker
      .getContainer("k2t-gap")
      .remove({ force: true })
      .catch(() => {});
    await relay.down().catch(() => {});
  }
}, 60_000);

describe("notebooks/02-burn-in.ts", () => {
  const dir = tempDir();
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out") };
  test("import of the brief's file renders the step file's table", async () => {
    const f = join(dir, "k2-burn-in.csv");
    // flat memory with a little noise (a steady rise would rightly be called a leak)
    writeFileSync(
      f,
      Array.from(
        { length: 6 },
        (_, i) =>
          `2026-02-19T09:${String(i * 5).padStart(2, "0")}:00+00:00\n` +
          `k2-clickhouse,${9 + i}.5%,1.2${[3, 5, 4, 5, 3, 4][i]}GiB / 7.648GiB\n` +
          "k2-feed-handler-binance,4.1%,180MiB / 512MiB\n",
      ).join(""),
    );
    const r = await runCli("notebooks/02-burn-in.ts", ["import", f], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^burn-in: PASS — 6 rounds, 2 containers/);
    const md = readFileSync(join(env.K2_OUT_DIR, "02-burn-in.md"), "utf8");
    expect(md).toContain("| Service | CPU Budget | CPU Actual (p99) | RAM Budget | RAM Actual (max) | Status |");
    expect(md).toContain("| clickhouse | 4 cores | 0.145 cores | 8.00 GB | 1.25 GB | PASS |");
  });
  test("the brief's own loop file judged whole: Spark's 15-minute spikes found from its point readings", async () => {
    // 24 samples 5 minutes apart (2 h, 8 offload periods), Spark busy at every third one, as the offload runs then
    const f = join(dir, "k2-burn-in-2h.csv");
    const t0 = Date.parse("2026-02-19T09:00:00Z");
    writeFileSync(
      f,
      Array.from({ length: 24 }, (_, i) => {
        const cpu = i % 3 === 1 ? 140 + (i % 2) * 7 : 3 + (i % 4);
        return (
          `${new Date(t0 + i * 300_000).toISOString().replace(".000Z", "+00:00")}\n` +
          `k2-spark-iceberg,${cpu}.2%,1.4${i % 5}GiB / 4GiB\nk2-clickhouse,9.5%,1.25GiB / 7.648GiB\n`
        );
      }).join(""),
    );
    const r = await runCli("notebooks/02-burn-in.ts", ["import", f], env);
    expect(r.code).toBe(0);
    const md = readFileSync(join(env.K2_OUT_DIR, "02-burn-in.html"), "utf8");
    expect(md).toContain("CPU read once per sample, as docker stats gives it");
    expect(md).toMatch(/8 spikes over 7\.7 periods, median 15(\.0)? min apart/);
    expect(md).not.toContain("NOT CHECKED");
  });
  test("bad input: a malformed import, an interval longer than the duration, sampling with no engine", async () => {
    const f = join(dir, "bad.csv");
    writeFileSync(f, "2026-02-19T09:00:00Z\nk2-clickhouse;9%;1GiB\n");
    const bad = await runCli("notebooks/02-burn-in.ts", ["import", f], env);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      5,
      "02-burn-in: error: cannot import bad.csv:2: expected name,CPU%,used / limit (e.g. " +
        'k2-clickhouse,9.48%,1.291GiB / 7.648GiB), got "k2-clickhouse;9%;1GiB"',
    ]);
    const iv = await runCli("notebooks/02-burn-in.ts", ["start", "--duration", "5m", "--interval", "10m"], env);
    expect([iv.code, iv.stderr.trim()]).toEqual([
      2,
      "02-burn-in: error: invalid --interval: 10.0 min is longer than --duration 5.0 min",
    ]);
    const none = await runCli("notebooks/02-burn-in.ts", ["start"], {
      ...env,
      DOCKER_HOST: "unix:///tmp/no-docker.sock",
    });
    expect(none.code).toBe(3);
    expect(none.stderr.trim()).toMatch(
      re(
        /^02-burn-in: error: Docker engine not reachable at unix:\/\/\/tmp\/no-docker\.sock/,
        / \(.*\): start Docker or set DOCKER_HOST \(`sudo bun run docker` gives the lab one\)$/,
      ),
    );
  });
  test("the main job with no engine: a report that says so, exit 0", async () => {
    const r = await runCli("notebooks/02-burn-in.ts", [], { ...env, DOCKER_HOST: "unix:///tmp/no-docker.sock" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^burn-in: SKIPPED — Docker engine not reachable at unix:\/\/\/tmp\/no-docker\.sock/);
    expect(readFileSync(join(env.K2_OUT_DIR, "02-burn-in.html"), "utf8")).toContain(
      "start Docker (here: dockerd) or set DOCKER_HOST",
    );
  });
  test("--detach, status, stop", async () => {
    const e = { ...env, DOCKER_HOST: await ensureDockerEngine() };
    const d = await runCli(
      "notebooks/02-burn-in.ts",
      ["start", "--detach", "--duration", "60s", "--interval", "2s"],
      e,
    );
    expect(d.code).toBe(0);
    const [, id, pid] = /^burn-in (\S+) sampling in the background \(pid (\d+)\)/.exec(d.stdout)!;
    await Bun.sleep(7000);
    const st = await runCli("notebooks/02-burn-in.ts", ["status"], e);
    expect(st.stdout).toMatch(new RegExp(`^burn-in ${id}: running \\(pid ${pid}\\); \\d+ of 30 samples; ETA`));
    expect(st.stdout).toMatch(/^  k2-clickhouse +running +[\d.]+ cores +[\d.]+ MB$/m);
    const stop = await runCli("notebooks/02-burn-in.ts", ["stop"], e);
    expect(stop.stdout).toMatch(new RegExp(`^burn-in ${id} stopped after \\d+ rounds`));
    expect((await runCli("notebooks/02-burn-in.ts", ["status"], e)).stdout).toMatch(
      /: stopped; \d+ of 30 samples; no ETA/,
    );
  }, 120_000);

  test("SIGKILL mid-run, then start --resume: no lost round, no duplicate", async () => {
    const host = await ensureDockerEngine();
    const e = { ...env, DOCKER_HOST: host };
    const proc = Bun.spawn(
      [process.execPath, "notebooks/02-burn-in.ts", "start", "--duration", "40s", "--interval", "2s"],
      { env: { ...process.env, ...e, CI: "1" }, stdout: "ignore", stderr: "ignore" },
    );
    // SIGKILL once a few rounds are on disk (creating the lab's containers first can take a while)
    for (let i = 0; i < 120; i++) {
      await Bun.sleep(500);
      const st = await runCli("notebooks/02-burn-in.ts", ["status"], e);
      if (Number(/; (\d+) of 20 samples/.exec(st.stdout)?.[1] ?? 0) >= 4) break;
    }
    proc.kill("SIGKILL");
    await proc.exited;
    const st1 = await runCli("notebooks/02-burn-in.ts", ["status"], e);
    const before = Number(/: not running .*?; (\d+) of 20 samples/.exec(st1.stdout)?.[1]);
    expect(before).toBeGreaterThan(2);
    const r = await runCli("notebooks/02-burn-in.ts", ["start", "--resume"], e);
    expect(r.code).toBe(0);
    const st2 = await runCli("notebooks/02-burn-in.ts", ["status"], e);
    const after = Number(/completed; (\d+) of 20 samples/.exec(st2.stdout)?.[1]);
    const { RunData } = await import("../lib/runtime/store.ts");
    const id = /^burn-in (\S+):/.exec(st2.stdout)![1]!;
    const data = new RunData(
      join(env.K2_DATA_DIR, "02-burn-in", id),
      JSON.parse(readFileSync(join(env.K2_DATA_DIR, "02-burn-in", id, "manifest.json"), "utf8")),
    );
    const dup = await data.query<{ n: number }>(
      "SELECT count() AS n FROM (SELECT round, container, count() AS c FROM {samples} GROUP BY round, container " +
        "HAVING c > 1)",
    );
    console.log(`resume after SIGKILL: ${before} rounds before, ${after} after, duplicates ${dup[0]!.n}`);
    expect(after).toBeGreaterThan(before);
    expect(Number(dup[0]!.n)).toBe(0);
    expect(existsSync(join(env.K2_OUT_DIR, "02-burn-in.html"))).toBe(true);
  }, 180_000);
});
