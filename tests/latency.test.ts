// The latency benchmark: verdict logic on plain values, then ground truth on the real
// embedded engine (the lab knows the delay it injected), then the notebook as a user runs it.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Target } from "../lib/io/clickhouse.ts";
import { discoverWithObservation, type Mapping } from "../lib/k2/discovery.ts";
import { runLab } from "../lib/lab/lab.ts";
import { parseDelay } from "../lib/lab/random.ts";
import type { ReplaySummary } from "../lib/lab/replayer.ts";
import { LAB_TRUTH_DB } from "../lib/lab/schema.ts";
import { parseFault } from "../lib/lab/traffic.ts";
import { loadCommand, replayCount, replaySpanMs, stackLoad } from "../lib/latency/load.ts";
import { continuitySql, exchangeCountsSql, lagExportSql, statsSql, truthLossSql } from "../lib/latency/sql.ts";
import type { ScenarioRecord } from "../lib/latency/summary.ts";
import { bottleneck, p99Verdict, SCENARIOS, scenarioVerdict } from "../lib/latency/verdict.ts";
import { quantileExact } from "../lib/verdict/stats.ts";
import type { Window } from "../lib/verdict/status.ts";
import { ensureDockerEngine, re, runCli, tempDir, testEngine } from "./helpers.ts";

describe("verdicts", () => {
  test("quantileExact is ClickHouse's: element floor(q*n) of the sorted values", () => {
    expect(quantileExact([1, 2, 3, 4], 0.5)).toBe(3);
    const ten = Array.from({ length: 10 }, (_, i) => i);
    expect([0, 0.5, 0.99, 1].map((q) => quantileExact(ten, q))).toEqual([0, 5, 9, 9]);
    expect(() => quantileExact(ten, 1.5)).toThrow("invalid quantile: 1.5");
  });
  test("p99Verdict decides only outside the clock's resolution", () => {
    expect(p99Verdict(150, 200, 0.001).status).toBe("PASS");
    expect(p99Verdict(250, 200, 1000).status).toBe("FAIL"); // truncation only shortens lags: true p99 >= 250
    expect(p99Verdict(150, 200, 1000)).toEqual({
      status: "UNRESOLVED",
      why:
        "p99 150.0 ms is within the 1 s resolution of the ingestion clock of the 200 ms target: the true p99 may " +
        "be on either side",
    });
    expect(p99Verdict(150, 2000, 1000).status).toBe("PASS");
  });
  test("scenarioVerdict: NOT RUN, loss and unchecked loss never pass", () => {
    const s = SCENARIOS[2]!;
    expect(
      scenarioVerdict(s, {
        notRun: "no k2-redpanda",
        trades: 0,
        p99Ms: NaN,
        resolutionMs: 1,
        loss: { notChecked: "x" },
      }),
    ).toEqual({ status: "NOT RUN", notes: ["no k2-redpanda"] });
    expect(scenarioVerdict(s, { trades: 0, p99Ms: NaN, resolutionMs: 1, loss: { notChecked: "x" } }).status).toBe(
      "NOT RUN",
    );
    expect(
      scenarioVerdict(s, {
        trades: 10,
        p99Ms: 100,
        resolutionMs: 1,
        loss: { lost: 3, duplicated: 0, checkedBy: "truth" },
      }).status,
    ).toBe("FAIL");
    expect(
      scenarioVerdict(s, { trades: 10, p99Ms: 100, resolutionMs: 1, loss: { notChecked: "no sequence column" } })
        .status,
    ).toBe("UNRESOLVED");
    expect(
      scenarioVerdict(s, {
        trades: 10,
        p99Ms: 100,
        resolutionMs: 1,
        loss: { lost: 0, duplicated: 0, checkedBy: "truth" },
      }).status,
    ).toBe("PASS");
  });
  test("bottleneck: the largest measured p99 among budgeted segments", () => {
    expect(
      bottleneck([
        { segment: "a", budgetMs: 3, p50Ms: 1, p99Ms: 9, source: "" },
        { segment: "b", budgetMs: 5, p50Ms: 5, p99Ms: 20, source: "" },
        { segment: "net", budgetMs: null, p99Ms: 99, source: "" },
      ])!.segment,
    ).toBe("b");
    expect(bottleneck([{ segment: "a", budgetMs: 1, source: "" }])).toBeNull();
  });
});

describe("ground truth: a lab run with an injected lognormal delay (median 40 ms, sigma 0.5)", () => {
  let t: Target,
    s: ReplaySummary,
    silver: Mapping,
    file: string,
    rows: {
      lag_ms: number;
      injected_delay_ms: number;
      handoff_ms: number;
      consumer_wait_ms: number;
      insert_rtt_ms: number;
    }[];
  beforeAll(async () => {
    t = await testEngine();
    s = await runLab(t, {
      ratePerSec: 50,
      durationMs: 30_000,
      seed: 3,
      delay: parseDelay("lognormal:40ms,0.5"),
      flushMs: 5,
    });
    silver = (await discoverWithObservation(t, "k2", { discovery: { columns: {} } })).find(
      (m) => m.layer === "silver",
    )!;
    file = join(tempDir(), "lags.parquet");
    await t.exportParquet(lagExportSql(silver, { fromMs: s.startMs - 1, toMs: s.lastExchangeTs + 1 }, "k2lab"), file);
    rows = await t.query(
      `SELECT lag_ms, injected_delay_ms, handoff_ms, consumer_wait_ms, insert_rtt_ms FROM file('${file}', Parquet)`,
    );
  }, 120_000);

  test("a stack's exchange mix: each exchange's distinct trades in silver, copies counted once", async () => {
    const w = { fromMs: s.startMs - 1, toMs: s.lastExchangeTs + 1 };
    const counts = async (m: Mapping) =>
      Object.fromEntries(
        (await t.query<{ exchange: string; n: number }>(exchangeCountsSql(m, w))).map((r) => [r.exchange, Number(r.n)]),
      );
    const sent = Object.fromEntries(Object.entries(s.perExchange).map(([e, x]) => [e, x.sent]));
    expect(await counts(silver)).toEqual(sent);
    // every trade twice, as after a load that copied all of them
    const twice = `(SELECT * FROM ${silver.table} UNION ALL SELECT * FROM ${silver.table})`;
    expect(await counts({ ...silver, table: twice })).toEqual(sent);
  });
  test("every trade was measured, each lag within the lab's own bounds", () => {
    expect(rows.length).toBe(s.sent);
    // lag = delay + consumer wait + (insert start -> processed_at), and processed_at falls inside the insert
    const slackMs = 2; // the replayer's clock and the engine's now64() are read a moment apart
    const outside = rows.filter(
      (r) => r.lag_ms < r.handoff_ms - slackMs || r.lag_ms > r.handoff_ms + r.insert_rtt_ms + slackMs,
    );
    expect(outside.length / rows.length).toBeLessThan(0.001);
  });
  test(
    "the measured p50 and p99 recover the injected delay plus the lab's known wait, within one insert round " + "trip",
    () => {
      // Per trade, lag = injected delay + consumer wait (both known to the lab) + the moment within its
      // insert that the engine stamped processed_at (0 .. the insert's round trip). The bounds hold for
      // every trade, so they hold for every quantile: q(delay + wait) <= q(lag) <= q(delay + wait + rtt).
      const sorted = (f: (r: (typeof rows)[0]) => number) => rows.map(f).sort((a, b) => a - b);
      const lag = sorted((r) => r.lag_ms),
        injected = sorted((r) => r.injected_delay_ms);
      const low = sorted((r) => r.handoff_ms),
        high = sorted((r) => r.handoff_ms + r.insert_rtt_ms);
      const slackMs = 2; // the replayer's clock and the engine's now64() are read a moment apart
      const slowestInsert = Math.max(...rows.map((r) => r.insert_rtt_ms));
      const report: string[] = [];
      for (const q of [0.5, 0.99]) {
        const m = quantileExact(lag, q),
          lo = quantileExact(low, q),
          hi = quantileExact(high, q);
        report.push(
          `p${q * 100}: injected ${quantileExact(injected, q).toFixed(1)} ms, injected + consumer wait ` +
            `${lo.toFixed(1)} ms; measured ${m.toFixed(1)} ms, within [${lo.toFixed(1)}, ${hi.toFixed(1)}] ` +
            `(tolerance ${(hi - lo).toFixed(1)} ms, one insert round trip)`,
        );
        expect(m).toBeGreaterThanOrEqual(lo - slackMs);
        expect(m).toBeLessThanOrEqual(hi + slackMs);
        // the tolerance is one insert, not the whole pipeline's spread: never wider than the slowest insert
        expect(hi - lo).toBeLessThanOrEqual(slowestInsert + slackMs);
      }
      // the injected distribution itself: lognormal median 40 ms, p99 = 40 * exp(2.326 * 0.5) = 128 ms
      expect(quantileExact(injected, 0.5)).toBeGreaterThan(40 * 0.9);
      expect(quantileExact(injected, 0.5)).toBeLessThan(40 * 1.1);
      expect(quantileExact(injected, 0.99)).toBeGreaterThan(128 * 0.8);
      expect(quantileExact(injected, 0.99)).toBeLessThan(128 * 1.2);
      console.log(`ground truth, ${rows.length} trades at 1x:\n  ${report.join("\n  ")}`);
    },
  );
  test("the engine's quantiles equal quantileExact over the exported Parquet, and over the live table", async () => {
    const lag = rows.map((r) => r.lag_ms).sort((a, b) => a - b);
    const [fromFile] = await t.query<{ p50: number; p99: number; p999: number }>(
      `SELECT quantileExact(0.5)(lag_ms) AS p50, quantileExact(0.99)(lag_ms) AS p99, quantileExact(0.999)(lag_ms) AS ` +
        `p999 FROM file('${file}', Parquet)`,
    );
    expect([fromFile!.p50, fromFile!.p99, fromFile!.p999]).toEqual([
      quantileExact(lag, 0.5),
      quantileExact(lag, 0.99),
      quantileExact(lag, 0.999),
    ]);
    const w: Window = { fromMs: s.startMs - 1, toMs: s.lastExchangeTs + 1 };
    const live = await t.query<{ exchange: string; p99_ms: number; trades: number }>(statsSql([silver], w, false));
    for (const e of live) {
      const mine = (
        await t.query<{ lag_ms: number }>(
          `SELECT lag_ms FROM file('${file}', Parquet) WHERE exchange = '${e.exchange}'`,
        )
      )
        .map((r) => r.lag_ms)
        .sort((a, b) => a - b);
      expect(e.trades).toBe(mine.length);
      expect(e.p99_ms).toBe(quantileExact(mine, 0.99));
    }
  });
});

test("a dropped sequence range is loss, by ground truth and by sequence continuity", async () => {
  const t = await testEngine();
  const s = await runLab(t, {
    ratePerSec: 100,
    durationMs: 8_000,
    seed: 4,
    delay: parseDelay("fixed:5ms"),
    flushMs: 20,
    faults: [parseFault("drop:kraken@2s+2s")],
  });
  const mappings = await discoverWithObservation(t, "k2", { discovery: { columns: {} } });
  const silver = mappings.find((m) => m.layer === "silver")!,
    kraken = mappings.find((m) => m.table === "k2.bronze_trades_kraken")!;
  const w: Window = { fromMs: s.startMs - 1, toMs: s.lastExchangeTs + 1 };
  const truth = await t.query<{ exchange: string; lost: number; dropped_by_fault: number }>(
    "SELECT exchange, sum(lost) AS lost, sum(dropped_by_fault) AS dropped_by_fault FROM " +
      `(${truthLossSql(silver, w, LAB_TRUTH_DB)}) ` +
      `GROUP BY exchange ORDER BY exchange`,
  );
  expect(truth.map((r) => [r.exchange, Number(r.lost), Number(r.dropped_by_fault)])).toEqual([
    ["binance", 0, 0],
    ["coinbase", 0, 0],
    ["kraken", s.dropped, s.dropped],
  ]);
  const [gaps] = await t.query<{ missing: number }>(
    `SELECT sum(missing) AS missing FROM (${continuitySql(kraken, w)})`,
  );
  // a range dropped at a symbol's first or last trade leaves no gap inside [min, max]: continuity can only undercount
  expect(Number(gaps!.missing)).toBeGreaterThan(0);
  expect(Number(gaps!.missing)).toBeLessThanOrEqual(s.dropped);
}, 60_000);

describe("stack load through dockerode exec in k2-redpanda", () => {
  const EVEN = { binance: 1 / 3, kraken: 1 / 3, coinbase: 1 / 3 };
  test("loadCommand fills the template; the replay span ends where the load starts", () => {
    const fill = { topic: "market.crypto.trades.binance.raw", n: 1200, seconds: 30 };
    expect(
      loadCommand("rpk topic consume {topic} -o @{since}:{until} -n {n} | rpk topic produce {topic} # {seconds}", {
        ...fill,
        sinceMs: 1771491600000.4,
        untilMs: 1771491840000,
      }),
    ).toBe(
      "rpk topic consume market.crypto.trades.binance.raw -o @1771491600000:1771491840000 -n 1200 | rpk topic " +
        "produce market.crypto.trades.binance.raw # 30",
    );
    expect(loadCommand("-o -{n} {x}", { ...fill, sinceMs: 0, untilMs: 0 })).toBe("-o -1200 {x}");
    // 5x for 30 s: 200 msg/s more, binance's half of it; from 8 windows back (twice the 4 windows it copies)
    expect([replayCount(SCENARIOS[1]!, 0.5, 30_000), replaySpanMs(SCENARIOS[1]!, 30_000)]).toEqual([3000, 240_000]);
  });
  test("no Docker engine: NOT RUN with the reason", async () => {
    const r = await stackLoad("true", SCENARIOS[1]!, 1000, () => {}, EVEN, { DOCKER_HOST: "unix:///tmp/none.sock" });
    expect("notRun" in r && r.notRun).toMatch(/^Docker engine not reachable at unix:\/\/\/tmp\/none\.sock/);
  });
  test("the command runs inside the lab's k2-redpanda container, once per exchange topic", async () => {
    const host = await ensureDockerEngine();
    const { connectDocker } = await import("../lib/io/docker.ts");
    const { ensureLabStack } = await import("../lib/lab/stack.ts");
    await ensureLabStack(await connectDocker({ DOCKER_HOST: host }));
    const seen: string[] = [];
    // the measured mix: each topic gets its exchange's share of 5x's 200 msg/s extra, for 2 s
    const shares = { binance: 0.5, kraken: 0.2, coinbase: 0.3 };
    const r = await stackLoad("test -n {topic} && echo {n}", SCENARIOS[1]!, 1500, (m) => seen.push(m), shares, {
      DOCKER_HOST: host,
    });
    expect("exitCode" in r && r.exitCode).toBe(0);
    expect(r.endMs - r.startMs).toBeGreaterThanOrEqual(1500);
    expect(seen.map((m) => m.replace(/: test -n (\S+) && echo/, " $1"))).toEqual([
      "load 5x: binance market.crypto.trades.binance.raw 200",
      "load 5x: kraken market.crypto.trades.kraken.raw 80",
      "load 5x: coinbase market.crypto.trades.coinbase.raw 120",
    ]);
  }, 60_000);
});

describe("notebooks/01-latency.ts on the lab", () => {
  const dir = tempDir();
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out") };
  const latency = (args: string[]) => runCli("notebooks/01-latency.ts", args, env);

  test("10x: zero loss against ground truth, achieved rate shown, report and summary written", async () => {
    const r = await latency(["--scenarios", "10x", "--duration", "20s"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      re(
        /^  10x  p50 [\d.,]+ ms · p99 [\d.,]+ ms · max [\d.,]+ ms/,
        / · 4\d\d\.\d msg\/s achieved \(target ~500\) · .*no loss \(against the replayer's ground truth; /,
        "m",
      ),
    );
    const md = readFileSync(join(env.K2_OUT_DIR, "01-latency.md"), "utf8");
    expect(md).toContain("| Scenario | p50 | p99 | Max | Notes |");
    // K2's Kafka settings by default: the floor is stated before the results, and named as the bottleneck
    expect(md).toContain("## The floor the Kafka engine sets");
    expect(md).toContain("| 10x | 3750 ms | 7425 ms | < 1000 ms | UNATTAINABLE as configured |");
    expect(md.indexOf("## The floor")).toBeLessThan(md.indexOf("## Results"));
    // the floor's p99 is 7425 ms; the measurement adds the rest of the pipeline, as much as the machine is busy
    // (8037 ms and 8554 ms on loaded CI machines): at least the floor, less a sample's spread, and no upper bound
    const bottleneck = re(
      /\*\*Bottleneck identified:\*\* Kafka engine flush interval: p99 (\d+) ms at 10x, /,
      /where the flush rule puts its floor \(p99 wait 7425 ms at 10x\)/,
    ).exec(md);
    expect(Number(bottleneck?.[1])).toBeGreaterThan(0.9 * 7425);
    const page = readFileSync(join(env.K2_OUT_DIR, "01-latency.html"), "utf8");
    expect((page.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    expect(page).not.toMatch(/<script|https?:\/\//);
  }, 120_000);
  test("a dropped range is reported as loss and fails the scenario; --gate exits 6", async () => {
    const r = await latency(["--scenarios", "1x", "--duration", "8s", "--lab-fault", "drop:kraken@2s+3s", "--gate"]);
    expect(r.stdout).toMatch(/1x FAIL/);
    expect(r.stdout).toMatch(
      /\d+ lost, 0 duplicated \(against the replayer's ground truth; the stack's check, sequence continuity/,
    );
    expect(r.code).toBe(6);
  }, 120_000);
  test("second-granular silver: never PASS; UNRESOLVED under the target, FAIL at or over it", async () => {
    // 10x: the true p99 (a few hundred ms on an idle machine) is under the 1 s target, but a clock that truncates to
    // whole seconds cannot show it. On a loaded machine the true p99 can pass 1 s, and then the truncated p99 can
    // too: that is a real FAIL (truncation only shortens lags), so the verdict is checked against the p99 measured.
    const r = await latency([
      ...["--scenarios", "10x", "--duration", "8s", "--lab-coarse-silver"],
      ...["--flush", "100ms", "--tuning", "kafka_flush_interval_ms = 100"],
    ]);
    expect(r.code).toBe(0);
    // truncated lags can be negative (a trade stamped in the second before its exchange time's): so can p50
    const p99 = Number(r.stdout.match(/^ {2}10x {2}p50 -?[\d.,]+ ms · p99 (-?[\d.,]+) ms/m)?.[1]?.replace(/,/g, ""));
    expect(Number.isFinite(p99)).toBe(true);
    expect(r.stdout).not.toMatch(/^latency: 10x PASS/m);
    if (p99 < 1000) {
      expect(r.stdout).toMatch(/^latency: 10x UNRESOLVED/);
      expect(r.stdout).toContain("within the 1 s resolution of the ingestion clock");
    } else expect(r.stdout).toMatch(/^latency: 10x FAIL/);
  }, 120_000);
  test("the stack's path on the lab: rpk in k2-redpanda replays copies; achieved by landing time", async () => {
    const host = await ensureDockerEngine();
    const r = await runCli(
      "notebooks/01-latency.ts",
      ["--scenarios", "5x,10x", "--duration", "4s", "--flush", "100ms", "--lab-load", "rpk"],
      { ...env, K2_DATA_DIR: join(dir, "data-rpk"), DOCKER_HOST: host },
    );
    expect(r.code).toBe(0);
    // the same load command a stack runs, through the same exec, into the lab's rpk stand-in
    // only what was produced before the load started is replayed: no trade of the window is copied
    expect(r.stderr).toMatch(
      /load 10x: binance: rpk topic consume market\.crypto\.trades\.binance\.raw -o @(\d{13}):(\d{13}) -n 900 /,
    );
    const [, since, until] = r.stderr.match(/load 10x: binance: .* -o @(\d+):(\d+) /)!;
    expect(Number(until) - Number(since)).toBe(2 * 9 * 4000);
    const [run] = [...new Bun.Glob("01-latency/*/scenarios.json").scanSync({ cwd: join(dir, "data-rpk") })];
    const records: ScenarioRecord[] = await Bun.file(join(dir, "data-rpk", run!)).json();
    for (const rec of records) {
      const produced = rec.replay!.copies!;
      // the lab's topics held what rpk replays before the load (counted by the lab's consumer), and what it produced
      // is what landed as copies, by landing time
      expect(produced).toBe((rec.targetRate - 50) * 4);
      expect(rec.landed!.copies).toBe(produced);
      // live trades plus copies, per second of the load: near the scenario's rate, not ~1x as by exchange time
      expect(rec.achievedRate).toBeGreaterThan(0.85 * rec.targetRate);
      expect(rec.achievedRate).toBeLessThan(1.15 * rec.targetRate);
      // copies are neither lags nor duplicates: both loss checks see none
      expect(rec.loss).toMatchObject({ lost: 0, duplicated: 0 });
      expect("checkedBy" in rec.loss && rec.loss.checkedBy).toContain(
        "sequence continuity per symbol in bronze: 0 missing, 0 duplicated",
      );
    }
    expect(readFileSync(join(env.K2_OUT_DIR, "01-latency.md"), "utf8")).toMatch(
      /10x: the load added \d+ replayed copies of earlier trades to silver.*Find them: SELECT/,
    );
  }, 180_000);
  test("the rpk stand-in: consume a topic's last N lines, produce lines to it, unknown topic refused", async () => {
    const host = await ensureDockerEngine();
    const { connectDocker } = await import("../lib/io/docker.ts");
    const c = (await connectDocker({ DOCKER_HOST: host })).docker.getContainer("k2-redpanda");
    const sh = async (cmd: string) => {
      const exec = await c.exec({ Cmd: ["sh", "-c", cmd], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      const chunks: Buffer[] = [];
      stream.on("data", (b: Buffer) => chunks.push(b));
      await new Promise((ok) => stream.on("end", ok));
      return { code: (await exec.inspect()).ExitCode, out: Buffer.concat(chunks).toString("latin1") };
    };
    const t = "market.crypto.trades.kraken.raw";
    // one `timestamp<TAB>message` a line, as the lab's pipeline writes them
    await sh(`printf '1000\\ta\\n2000\\tb\\n3000\\tc d\\n4000\\te\\n' > /lab/topics/${t}`);
    expect((await sh(`rpk topic consume ${t} -o -2 -n 2 -f '%v\\n'`)).out).toMatch(/c d\n.*e\n$/s);
    // a timestamp range [t1, t2), capped by -n, as rpk reads `-o @t1:t2`
    // (the exec's output is multiplexed: a frame header may stand between lines)
    const range = (await sh(`rpk topic consume ${t} -o @2000:4000 -n 5 -f '%v\\n'`)).out;
    expect([range, /a|e/.test(range)]).toEqual([expect.stringMatching(/b\n.*c d\n$/s), false]);
    const capped = (await sh(`rpk topic consume ${t} -o @1000:end -n 2`)).out;
    expect([capped, /c d/.test(capped)]).toEqual([expect.stringMatching(/a\n.*b\n$/s), false]);
    const until = (await sh(`rpk topic consume ${t} -o @:2000`)).out;
    expect([until, /b/.test(until)]).toEqual([expect.stringMatching(/a\n$/), false]);
    const bad = await sh(`rpk topic consume ${t} -o sideways`);
    expect([bad.code, bad.out]).toEqual([1, expect.stringContaining("unsupported offset: sideways")]);
    expect((await sh(`echo x | rpk topic produce ${t} && tail -n 1 /lab/topics/${t}.in`)).out).toMatch(/x\n$/);
    const none = await sh("rpk topic consume no.such.topic -n 1");
    expect([none.code, none.out]).toEqual([1, expect.stringContaining("TOPIC_NOT_FOUND: no.such.topic")]);
  }, 60_000);
  test("--compare two stored runs: exact deltas per exchange", async () => {
    const none = await latency(["--compare", "latest~1", "latest"]); // 1x with a drop, then 10x
    expect(none.code).toBe(4);
    expect(none.stderr.trim()).toMatch(/^01-latency: error: runs \S+ \(1x\) and \S+ \(10x\) share no scenario/);
    const r = await latency(["--compare", "latest~2", "latest"]); // 10x, then 10x on second-granular silver
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^compare \S+ → \S+: 3 scenario×exchange rows/);
    expect(existsSync(join(env.K2_OUT_DIR, "01-latency-compare.html"))).toBe(true);
    const md = readFileSync(join(env.K2_OUT_DIR, "01-latency-compare.md"), "utf8");
    expect(md).toContain("| Scenario | Exchange | Trades | p50 before |");
    expect(md).toContain("**Tuning applied:** kafka_flush_interval_ms = 100");
  }, 60_000);
  test("bad input: unknown scenario, bad time, compare without two ids", async () => {
    for (const [args, msg] of [
      [["--scenarios", "3x"], 'invalid --scenarios: unknown scenario "3x" (expected 1x, 5x or 10x)'],
      [["--since", "yesterday"], 'invalid --since: "yesterday" (expected an ISO time such as 2026-02-19T09:00:00Z)'],
      [["--compare", "latest"], "--compare takes two run ids"],
    ] as const) {
      const r = await latency([...args]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toStartWith(`01-latency: error: ${msg}`);
    }
  });
});
