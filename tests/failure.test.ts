// Failure-mode tests: verdict logic on plain timelines, the journal's restore on a real
// Docker engine, then the notebook on the lab: measured MTTR against a known fault, loss
// reported (or not), Ctrl-C and SIGKILL mid-fault, and the bad inputs.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import {
  continuityLossSql,
  failedDuring,
  flowRunChecks,
  type LossRow,
  lossChecks,
  truthLossSql,
  watermarkChecks,
} from "../lib/failure/checks.ts";
import { MATRIX, plan, selectTests } from "../lib/failure/matrix.ts";
import { baselineRates, isolation, milestoneGate, recoveryAt, type Tick, testVerdict } from "../lib/failure/verdict.ts";
import { type ColumnInfo, discoverWithObservation, mapTradeTable } from "../lib/k2/discovery.ts";
import { CONNECTION, STOP_GRACE_S, stopGraceSeconds } from "../lib/k2/stack.ts";
import { runLab } from "../lib/lab/lab.ts";
import { parseDelay } from "../lib/lab/random.ts";
import { LAB_TRUTH_DB } from "../lib/lab/schema.ts";
import { parseFault } from "../lib/lab/traffic.ts";
import { continuitySql } from "../lib/latency/sql.ts";
import { ROOT } from "../lib/runtime/paths.ts";
import { engineRelay, ensureDockerEngine, re, runCli, tempDir, testEngine } from "./helpers.ts";

const tick = (t: number, b: number, k: number, c: number, ok = true): Tick => ({
  t,
  flow: { binance: b, kraken: k, coinbase: c },
  containersOk: ok,
});

test("stop and restart wait the container's own grace (compose's stop_grace_period), else Docker's 10 s", () => {
  expect(stopGraceSeconds({ StopTimeout: 2, Image: "k2-lab/busybox:1" })).toBe(2);
  expect(stopGraceSeconds({ Image: "clickhouse/clickhouse-server" })).toBe(STOP_GRACE_S);
  expect(STOP_GRACE_S).toBe(10);
});

test(
  "Coinbase by its own sequence rule: the trades of one message share a number across products (neither loss nor " +
    "duplicate); a lost message and a trade landed twice are found",
  async () => {
    const t = await testEngine();
    const db = "k2_coinbase_seq";
    await t.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await t.command(
      `CREATE OR REPLACE TABLE ${db}.bronze_trades_coinbase (exchange_timestamp DateTime64(3), ` +
        "sequence_number UInt64, " +
        "symbol String, ingestion_timestamp DateTime64(3)) ENGINE = MergeTree ORDER BY exchange_timestamp",
    );
    // messages 101..108 on one connection: 103 carries two BTC-USD trades and an ETH-USD one, 106 never landed, and
    // the trade of 107 landed twice
    const base = Date.parse("2026-02-19T09:00:00Z");
    const rows = [
      [101, "BTC-USD", 0],
      [102, "ETH-USD", 1],
      [103, "BTC-USD", 2],
      [103, "BTC-USD", 3],
      [103, "ETH-USD", 2],
      [104, "SOL-USD", 4],
      [105, "BTC-USD", 5],
      [107, "ETH-USD", 7],
      [107, "ETH-USD", 7],
      [108, "BTC-USD", 8],
    ] as const;
    const values = rows.map(
      ([seq, sym, s]) => `(fromUnixTimestamp64Milli(${base + s * 1000}), ${seq}, '${sym}', now64(3))`,
    );
    await t.command(`INSERT INTO ${db}.bronze_trades_coinbase VALUES ${values.join(", ")}`);
    const cols = await t.query<ColumnInfo>(
      `SELECT table, name, type FROM system.columns WHERE database = '${db}' AND table = 'bronze_trades_coinbase'`,
    );
    const m = mapTradeTable(`${db}.bronze_trades_coinbase`, cols);
    const w = { fromMs: base - 1000, toMs: base + 60_000 };
    const loss = await t.query<LossRow>(continuityLossSql(m, w, { startMs: base, clearMs: base, endMs: base }));
    expect(loss.map((r) => [r.exchange, r.symbol, Number(r.landed), Number(r.lost), Number(r.duplicated)])).toEqual([
      ["coinbase", CONNECTION, 9, 1, 1],
    ]);
    const cont = await t.query<{ symbol: string; missing: number; duplicated: number }>(continuitySql(m, w));
    expect(cont.map((r) => [r.symbol, Number(r.missing), Number(r.duplicated)])).toEqual([[CONNECTION, 1, 1]]);
    await t.command(`DROP DATABASE ${db}`);
  },
);

describe("verdicts", () => {
  const base = [tick(-3000, 10, 4, 6), tick(-2000, 10, 4, 6), tick(-1000, 10, 4, 6)];
  const timeline = [
    ...[0, 1, 2, 3, 4].map((s) => tick(s * 1000, 0, 4, 6, s < 1)),
    tick(5000, 2, 4, 6),
    tick(6000, 9, 4, 6),
    tick(7000, 11, 4, 6),
    tick(8000, 10, 4, 6),
  ];
  test("recoveryAt: after clearing, containers ok and half the baseline rate over 3 ticks", () => {
    const rates = baselineRates(base, ["binance", "kraken", "coinbase"]);
    expect(rates).toEqual({ binance: 10, kraken: 4, coinbase: 6 });
    expect(recoveryAt(timeline, rates, ["binance"], 4500)).toBe(7000);
    expect(recoveryAt(timeline, rates, ["binance"], 9000)).toBeNull();
  });
  test("isolation: the other exchanges kept their rate", () => {
    expect(
      isolation(timeline, { kraken: 4, coinbase: 13 }, ["kraken", "coinbase"], 0, 5000).map((x) => [x.exchange, x.ok]),
    ).toEqual([
      ["kraken", true],
      ["coinbase", false],
    ]);
  });
  test("testVerdict: MTTR from start and from clearing; a failed check fails", () => {
    expect(testVerdict(60_000, 0, 4500, 7000, [{ name: "a", status: "PASS", detail: "" }])).toEqual({
      status: "PASS",
      mttrFromStartMs: 7000,
      mttrFromClearMs: 2500,
      notes: [],
    });
    expect(testVerdict(2000, 0, 4500, 7000, []).status).toBe("FAIL"); // 2.5 s to recover after clearing
    expect(testVerdict(5000, 0, 4500, 7000, []).status).toBe("PASS"); // the 4.5 s hold does not count against it
    expect(testVerdict(60_000, 0, 4500, null, []).notes[0]).toBe("did not recover within the observation limit");
    expect(testVerdict(60_000, 0, 4500, 7000, [{ name: "loss", status: "FAIL", detail: "3 lost" }]).notes).toEqual([
      "loss: FAIL (3 lost)",
    ]);
  });
  test("milestoneGate judges from clearing: a 30 s partition that recovers in 1 s passes; not recovered fails", () => {
    expect(
      milestoneGate([
        { test: "feed-handler-crash", mttrFromClearMs: 1800 },
        { test: "network-partition", mttrFromClearMs: 1000 },
      ]),
    ).toEqual({ status: "PASS", over: [] });
    expect(
      milestoneGate([
        { test: "a", mttrFromClearMs: 30_000 },
        { test: "b", mttrFromClearMs: null },
        { test: "c", mttrFromClearMs: 29_999 },
      ]),
    ).toEqual({ status: "FAIL", over: ["a", "b"] });
    expect(milestoneGate([]).status).toBe("NOT RUN");
  });
  test("lossChecks: the faulted exchange may lose only inside the fault; others none; no duplicates", () => {
    const row = (exchange: string, symbol: string, lost: number, lost_in_fault: number, duplicated = 0): LossRow => ({
      exchange,
      symbol,
      landed: 100,
      lost,
      duplicated,
      late: 0,
      lost_in_fault,
    });
    const ok = lossChecks(
      [row("binance", "BTCUSDT", 7, 7), row("binance", "ETHUSDT", 3, 3), row("kraken", "XBT/USD", 0, 0)],
      ["binance", "kraken", "coinbase"],
      "binance",
    );
    expect(ok.checks.map((c) => [c.name, c.status, c.detail])).toEqual([
      ["binance loss only while its handler was down", "PASS", "10 lost, 10 of them while the handler was down"],
      ["no loss on the other exchanges", "PASS", "0 lost"],
      ["no duplicates", "PASS", "0 duplicated"],
    ]);
    expect(ok.perExchange.binance).toEqual({ landed: 200, lost: 10, duplicated: 0, late: 0 });
    expect(ok.bySymbol.map((r) => r.symbol)).toEqual(["BTCUSDT", "ETHUSDT"]);
    const bad = lossChecks(
      [row("binance", "BTCUSDT", 7, 5), row("kraken", "XBT/USD", 2, 0, 1)],
      ["binance", "kraken", "coinbase"],
      "binance",
    );
    expect(bad.checks.map((c) => c.status)).toEqual(["FAIL", "FAIL", "FAIL"]);
    expect(
      lossChecks([row("kraken", "XBT/USD", 4, 0)], ["binance", "kraken", "coinbase"], undefined).checks[0],
    ).toEqual({ name: "no trade lost", status: "FAIL", detail: "kraken 4 lost" });
  });
  test(
    "watermarkChecks on a stack: advanced fails, a failed run that left it passes, nothing due is not " + "checked",
    () => {
      const wm = (ms: number, failures: number, status = "success") => ({
        ms,
        failures,
        status,
        source: "ClickHouse k2.offload_watermarks",
      });
      const [held, next, once] = watermarkChecks(wm(1000, 0), wm(1000, 1, "failed"), wm(901_000, 0), 60_000, 900_000);
      expect([held!.status, next!.status, once!.status]).toEqual(["PASS", "PASS", "NOT CHECKED"]);
      expect(watermarkChecks(wm(1000, 0), wm(5000, 0), null, 60_000, 900_000)[0]!.status).toBe("FAIL");
      const idle = watermarkChecks(wm(1000, 0), wm(1000, 0), null, 10_000, 900_000);
      expect(idle.map((c) => c.status)).toEqual(["NOT CHECKED", "NOT CHECKED", "NOT CHECKED"]);
      expect(idle[0]!.detail).toContain("--hold 16m");
    },
  );
  test("flowRunChecks: Prefect's runs of the deployment, failed during the fault and completed after it", () => {
    const at = (s: number) => new Date(Date.parse("2026-12-02T10:00:00Z") + s * 1000).toISOString();
    const run = (name: string, state: string, s: number) => ({
      name,
      state_type: state.toUpperCase(),
      state_name: state,
      start_time: at(s),
    });
    const [start, clear] = [Date.parse(at(0)), Date.parse(at(60))];
    const runs = [run("before", "Completed", -300), run("spark-down", "Failed", 10), run("after", "Completed", 75)];
    const [failed, next] = flowRunChecks(runs, start, clear, "iceberg-offload-main/iceberg-offload-15min");
    expect([failed!.status, failed!.detail, next!.status, next!.detail]).toEqual([
      "PASS",
      "spark-down (Failed)",
      "PASS",
      "after (Completed), begun 15.0 s after clearing",
    ]);
    // a run that completed while Spark was down means the fault did not hold it: FAIL; none at all: NOT CHECKED
    expect(flowRunChecks([run("x", "Completed", 5)], start, clear, "d")[0]!.status).toBe("FAIL");
    const none = flowRunChecks([run("before", "Completed", -300)], start, clear, "d");
    expect(none.map((c) => c.status)).toEqual(["NOT CHECKED", "NOT CHECKED"]);
    expect(none[0]!.detail).toContain("--start-offload-runs");
    // the stack's offload writes no watermark row when Spark is down: Prefect's failed run is the attempt
    const wm = { ms: 1000, failures: 0, status: "success", source: "PostgreSQL offload_watermarks" };
    const held = watermarkChecks(wm, wm, null, 60_000, 900_000, failedDuring(runs, start, clear))[0]!;
    expect([held.status, held.detail]).toEqual([
      "PASS",
      "Prefect's flow run spark-down failed and the watermark stayed (PostgreSQL offload_watermarks)",
    ]);
  });
  test("selectTests keeps the brief's order; unknown names are refused", () => {
    expect(selectTests("network-partition,1").map((t) => t.id)).toEqual([1, 6]);
    expect(() => selectTests("meteor-strike")).toThrow('invalid --tests: unknown test "meteor-strike"');
    expect(plan(MATRIX[0]!, 10_000, "k2-net")).toEqual([
      "test 1 feed-handler-crash: baseline 5 s",
      "  fault: docker stop k2-feed-handler-binance",
      "  hold 10 s, then clear: docker start k2-feed-handler-binance",
      "  observe at 1 s until recovered (target 60 s)",
    ]);
  });
});

test("continuityLossSql (the stack's method) recovers the lab's ground truth: loss, and loss inside the " +
  "fault", async () => {
  const t = await testEngine();
  const s = await runLab(t, {
    ratePerSec: 200,
    durationMs: 8_000,
    seed: 11,
    delay: parseDelay("fixed:5ms"),
    flushMs: 50,
    faults: [parseFault("drop:kraken@3s+2s")],
  });
  const silver = (await discoverWithObservation(t, "k2", { discovery: { columns: {} } })).find(
    (m) => m.layer === "silver",
  )!;
  const w = { fromMs: s.startMs - 1, toMs: s.lastExchangeTs + 1 };
  const sum = async (sql: string) =>
    (await t.query<LossRow>(sql)).reduce(
      (a, r) =>
        r.exchange === "kraken"
          ? {
              lost: a.lost + Number(r.lost),
              inFault: a.inFault + Number(r.lost_in_fault),
              dup: a.dup + Number(r.duplicated),
            }
          : a,
      { lost: 0, inFault: 0, dup: 0 },
    );
  const inside = { startMs: s.startMs + 3000, clearMs: s.startMs + 5000, endMs: s.startMs + 5000 };
  const truth = await sum(truthLossSql(silver, w, inside, LAB_TRUTH_DB));
  const stack = await sum(continuityLossSql(silver, w, inside));
  const elsewhere = await sum(
    continuityLossSql(silver, w, { startMs: s.startMs + 6000, clearMs: s.startMs + 7000, endMs: s.startMs + 7000 }),
  );
  console.log(
    `kraken trades dropped ${s.dropped}: truth ${truth.lost} lost; continuity ${stack.lost} lost, ${stack.inFault} ` +
      `inside the fault, ${elsewhere.inFault} inside a later window`,
  );
  expect(truth.lost).toBe(s.dropped);
  // a drop at a symbol's first or last trade in the window leaves no gap: continuity can only undercount, and at 200
  // msg/s over 8 s it sees all
  expect(stack.lost).toBe(s.dropped);
  expect(stack.inFault).toBe(stack.lost);
  // a gap is explained by a window its neighbours straddle: a rare symbol's long gap may reach a later one too, but not
  // most
  expect(elsewhere.inFault).toBeLessThan(stack.lost / 2);
  expect(stack.dup).toBe(0);
}, 60_000);

test("late, by both methods: a consumer stalled for a known window lands that window's trades after it", async () => {
  const t = await testEngine();
  const s = await runLab(t, {
    ratePerSec: 200,
    durationMs: 8_000,
    seed: 12,
    delay: parseDelay("fixed:5ms"),
    flushMs: 50,
    faults: [parseFault("stall@3s+3s")],
  });
  const silver = (await discoverWithObservation(t, "k2", { discovery: { columns: {} } })).find(
    (m) => m.layer === "silver",
  )!;
  const w = { fromMs: s.startMs - 1, toMs: s.lastExchangeTs + 1 };
  // Judged as a fault that cleared, and recovered, when the stall ended.
  const f = { startMs: s.startMs + 3000, clearMs: s.startMs + 6000, endMs: s.startMs + 6000 };
  const late = async (sql: string) => (await t.query<LossRow>(sql)).reduce((a, r) => a + Number(r.late), 0);
  const [truthLate, stackLate] = [
    await late(truthLossSql(silver, w, f, LAB_TRUTH_DB)),
    await late(continuityLossSql(silver, w, f)),
  ];
  // Ground truth: what the exchanges generated inside the stall (the least that is late), and every trade generated
  // before the stall ended that the consumer had not flushed when it began (the most: a trade that arrived while the
  // last tick before the stall was inserting waits inside it). From the lab's own flush times, not a window of wall
  // time: a fixed 1.5 s before the stall held 873 where 977 were late (CI, a loaded tick).
  const [g] = await t.query<{
    inside: number;
    around: number;
  }>(`SELECT countIf(exchange_ts >= fromUnixTimestamp64Milli(toInt64(${f.startMs}))) AS inside, count() AS around
    FROM k2lab.sent WHERE exchange_ts < fromUnixTimestamp64Milli(toInt64(${f.clearMs}))
      AND (flushed_ts IS NULL OR flushed_ts >= fromUnixTimestamp64Milli(toInt64(${f.startMs})))`);
  console.log(
    `consumer stalled 3 s: ${g!.inside} trades generated inside it, ${g!.around} not flushed before it; ` +
      `late by truth ${truthLate}, by continuity ${stackLate}`,
  );
  expect(truthLate).toBe(stackLate);
  expect(truthLate).toBeGreaterThanOrEqual(Number(g!.inside) - 5); // the stall's edge falls between two replayer ticks
  expect(truthLate).toBeLessThanOrEqual(Number(g!.around));
}, 60_000);

describe("notebooks/03-failure-modes.ts on the lab with a real Docker engine", () => {
  const dir = tempDir();
  let env: Record<string, string>, docker: Docker;
  const fm = (args: string[], extra: Record<string, string> = {}) =>
    runCli("notebooks/03-failure-modes.ts", args, { ...env, ...extra });
  const state = async (name: string) => (await docker.getContainer(name).inspect()).State.Status;
  /**
   * The notebook in the background, returned once its feed-handler fault is in effect: binance's
   * handler stopped, and the notebook past applying it (its progress line says "fault held").
   * `stderr` resolves to all it wrote.
   */
  const duringFault = async (args: string[], extra: Record<string, string> = {}) => {
    const p = Bun.spawn([process.execPath, join(ROOT, "notebooks/03-failure-modes.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, ...extra, CI: "1" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [watch, keep] = p.stderr.tee();
    const reader = watch.getReader();
    for (let seen = ""; !seen.includes("fault held"); ) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    void reader.cancel();
    return {
      p,
      stderr: new Response(keep).text(),
      state: await waitFor(
        () => state("k2-feed-handler-binance"),
        (s) => s === "exited",
        60_000,
      ),
    };
  };
  beforeAll(async () => {
    const host = await ensureDockerEngine();
    docker = new Docker({ socketPath: host.replace("unix://", "") });
    env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: host };
  });

  test("a feed-handler container stopped for a known time: MTTR against it, the others' flow, binance's " +
    "loss", async () => {
    const r = await fm(["--tests", "feed-handler-crash", "--hold", "6s"]);
    expect({ code: r.code, stderr: r.code ? r.stderr.slice(-2000) : "" }).toEqual({ code: 0, stderr: "" });
    const results = JSON.parse(
      readFileSync(
        join(
          env.K2_DATA_DIR!,
          "03-failure-modes",
          readdirLatest(join(env.K2_DATA_DIR!, "03-failure-modes")),
          "results.json",
        ),
        "utf8",
      ),
    );
    const t = results[0];
    console.log(
      `feed handler stopped ${(t.clearedAt / 1000).toFixed(1)} s: MTTR ${(t.mttrFromStartMs / 1000).toFixed(1)} s ` +
        `from start, ${(t.mttrFromClearMs / 1000).toFixed(1)} s from clearing; ` +
        `${t.checks.map((c: any) => `${c.name}: ${c.detail}`).join("; ")}`,
    );
    expect(t.clearedAt).toBeGreaterThanOrEqual(6000);
    expect(t.mttrFromStartMs).toBeGreaterThanOrEqual(t.clearedAt);
    expect(t.mttrFromClearMs).toBeLessThan(t.targetMs); // the spec's own bound (1 min), not this machine's speed
    expect(t.status).toBe("PASS");
    expect(t.checks.find((c: any) => c.name === "other exchanges keep flowing").status).toBe("PASS");
    expect(t.loss.binance.lost).toBeGreaterThan(0); // trades missed while the handler was down
    expect(t.loss.kraken.lost + t.loss.coinbase.lost).toBe(0);
    expect(readFileSync(join(env.K2_OUT_DIR!, "03-failure-modes.md"), "utf8")).toContain(
      "| Test | Run Date | Result | MTTR | Notes |",
    );
  }, 180_000);

  test("a sequence range dropped during a test is loss (the same test clean has none: the no-Docker run)", async () => {
    // kraken's trades dropped for 3 s from the test's fault start: inside its window however late a busy machine starts
    // it (a drop timed from the replay's start, 10-13 s, once fell before the window on a loaded machine: 2 PASS)
    const dropped = await fm(["--tests", "redpanda-restart", "--hold", "4s", "--lab-fault", "drop:kraken@fault+3s"]);
    expect(dropped.stderr).not.toContain("    at ");
    expect(dropped.stdout).toMatch(/2\. redpanda-restart +FAIL .*no trade lost: FAIL \(kraken \d+ lost\)/);
  }, 240_000);

  test("Ctrl-C mid-fault restores the container before exit", async () => {
    const { p, state: before } = await duringFault(["--tests", "feed-handler-crash", "--hold", "60s"]);
    p.kill("SIGINT");
    const code = await p.exited;
    const after = await state("k2-feed-handler-binance");
    console.log(`Ctrl-C mid-fault: k2-feed-handler-binance ${before} -> ${after}, exit ${code}`);
    expect([before, after, code]).toEqual(["exited", "running", 130]);
    expect(JSON.parse(readFileSync(join(env.K2_DATA_DIR!, "03-failure-modes", "journal.json"), "utf8"))).toEqual([]);
  }, 120_000);

  test("SIGKILL mid-fault: the next run restores first", async () => {
    const { p } = await duringFault(["--tests", "feed-handler-crash", "--hold", "60s"]);
    p.kill("SIGKILL");
    await p.exited;
    const left = await state("k2-feed-handler-binance");
    const next = await fm(["--dry-run"]);
    const after = await state("k2-feed-handler-binance");
    console.log(
      `SIGKILL mid-fault: left ${left}; next run: ${next.stderr.split("\n").find((l) => l.includes("restoring"))}; ` +
        `now ${after}`,
    );
    expect(left).toBe("exited");
    expect(next.stderr).toContain(
      "restoring after an interrupted run: feed-handler-crash left k2-feed-handler-binance exited",
    );
    expect(after).toBe("running");
  }, 120_000);

  test("Docker lost mid-fault, back within the retries: cleared on a later attempt, and the report " +
    "says so", async () => {
    const relay = await engineRelay(env.DOCKER_HOST!);
    try {
      const { p } = await duringFault(["--tests", "feed-handler-crash", "--hold", "6s"], { DOCKER_HOST: relay.host });
      await relay.down(); // from about 1 s into the fault until 10 s: the clearing at 6 s fails until then
      await Bun.sleep(9000);
      await relay.up();
      const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      const r = JSON.parse(
        readFileSync(
          join(
            env.K2_DATA_DIR!,
            "03-failure-modes",
            readdirLatest(join(env.K2_DATA_DIR!, "03-failure-modes")),
            "results.json",
          ),
          "utf8",
        ),
      )[0];
      console.log(
        `Docker away 9 s during the fault: cleared on attempt ${r.restore.attempts}, ${r.status}; ` +
          `${out.split("\n")[1]}`,
      );
      expect(code).toBe(0);
      expect(r.restore).toMatchObject({ ok: true });
      expect(r.restore.attempts).toBeGreaterThan(1);
      expect(r.notes.join(" ")).toContain(`cleared on attempt ${r.restore.attempts}`);
      expect(await state("k2-feed-handler-binance")).toBe("running");
    } finally {
      await relay.down().catch(() => {});
    }
  }, 120_000);

  test("Docker lost for good mid-fault: the test fails saying so, the rest are not run, exit 3 naming what is left " +
    "broken; the next run restores it", async () => {
    const relay = await engineRelay(env.DOCKER_HOST!);
    try {
      const { p, stderr } = await duringFault(["--tests", "feed-handler-crash,redpanda-restart", "--hold", "4s"], {
        DOCKER_HOST: relay.host,
      });
      await relay.down();
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), stderr, p.exited]);
      const last = err.trim().split("\n").at(-1)!;
      console.log(`Docker gone mid-fault: exit ${code}; ${out.split("\n")[0]}; ${last}`);
      expect(code).toBe(3);
      expect(out).toMatch(/^failure modes: 1 FAIL; skipped: redpanda-restart; milestone gate FAIL$/m);
      expect(out).toMatch(/1\. feed-handler-crash +FAIL .*the fault could not be cleared after 10 attempts/);
      expect(last).toMatch(
        re(
          /^03-failure-modes: error: k2-feed-handler-binance was left stopped by feed-handler-crash:/,
          / clearing failed 10 times \(.*\); once Docker answers, run this notebook again/,
        ),
      );
      expect(readFileSync(join(env.K2_OUT_DIR!, "03-failure-modes.html"), "utf8")).toContain(
        "could not be restored after feed-handler-crash",
      );
      expect(
        JSON.parse(readFileSync(join(env.K2_DATA_DIR!, "03-failure-modes", "journal.json"), "utf8")).map(
          (e: any) => e.container,
        ),
      ).toEqual(["k2-feed-handler-binance"]);
      expect(await state("k2-feed-handler-binance")).toBe("exited");
      await relay.up();
      const next = await fm(["--dry-run"], { DOCKER_HOST: relay.host });
      expect(next.stderr).toContain(
        "restoring after an interrupted run: feed-handler-crash left k2-feed-handler-binance exited",
      );
      expect(await state("k2-feed-handler-binance")).toBe("running");
    } finally {
      await relay.down().catch(() => {});
      await docker
        .getContainer("k2-feed-handler-binance")
        .start()
        .catch(() => {});
    }
  }, 120_000);

  test("Docker fails while the fault is applied (the stop is carried out, its reply lost): cleared, one line, " +
    "exit 3", async () => {
    const relay = await engineRelay(env.DOCKER_HOST!);
    try {
      relay.cutReply("/containers/k2-feed-handler-binance/stop");
      const r = await fm(["--tests", "feed-handler-crash"], { DOCKER_HOST: relay.host });
      const last = r.stderr.trim().split("\n").at(-1)!;
      console.log(`stop's reply lost: exit ${r.code}; ${last}`);
      expect(r.code).toBe(3);
      expect(last).toMatch(
        re(
          /^03-failure-modes: error: test feed-handler-crash:/,
          / the Docker engine failed while applying the fault \(.+\); k2-feed-handler-binance was restored$/,
        ),
      );
      expect(await state("k2-feed-handler-binance")).toBe("running");
      expect(JSON.parse(readFileSync(join(env.K2_DATA_DIR!, "03-failure-modes", "journal.json"), "utf8"))).toEqual([]);
    } finally {
      await relay.down().catch(() => {});
      await docker
        .getContainer("k2-feed-handler-binance")
        .start()
        .catch(() => {});
    }
  }, 120_000);

  test("bad input: an unhealthy baseline refuses to start, naming the check; an unknown test", async () => {
    await docker.getContainer("k2-feed-handler-kraken").stop({ t: 1 });
    try {
      const r = await fm(["--tests", "redpanda-restart"]);
      expect(r.code).toBe(6);
      expect(r.stderr.trim().split("\n").at(-1)).toBe(
        "03-failure-modes: error: test redpanda-restart refused to start: unhealthy baseline (no trades landed from " +
          "kraken in 5 s)",
      );
    } finally {
      await docker.getContainer("k2-feed-handler-kraken").start();
    }
    const u = await fm(["--tests", "meteor"]);
    expect([u.code, u.stderr.trim()]).toEqual([
      2,
      '03-failure-modes: error: invalid --tests: unknown test "meteor" (expected feed-handler-crash, ' +
        "redpanda-restart, clickhouse-restart, offload-failure, minio-unavailable, network-partition or 1-6)",
    ]);
  }, 120_000);

  test("a network the container is not on, and a container outside the K2 set", async () => {
    const { connectDocker } = await import("../lib/io/docker.ts");
    const { applyFault, guard } = await import("../lib/faults/docker.ts");
    const t = await connectDocker(env);
    await expect(
      applyFault(t, { test: "x", container: "k2-clickhouse", action: "disconnect", network: "k2-net", at: "", pid: 0 }),
    ).rejects.toThrow("k2-clickhouse is not on network k2-net (it is on k2-lab_k2-net): fix --network");
    await expect(guard(t, "postgres-main", true)).rejects.toThrow(
      "refusing to touch postgres-main: not a K2 container",
    );
  });

  test("no Docker engine: the lab-only analogues run, the rest are skipped and said so; by name, an " +
    "error", async () => {
    const r = await fm(["--hold", "3s", "--partition", "3s"], { DOCKER_HOST: "unix:///tmp/no-docker.sock" });
    expect({ code: r.code, stderr: r.code ? r.stderr.slice(-2000) : "" }).toEqual({ code: 0, stderr: "" });
    // a clean test loses nothing (the dropped-range test runs the same test with a drop)
    expect(r.stdout).toMatch(/2\. redpanda-restart +PASS/);
    expect(r.stdout).toMatch(
      re(
        /^failure modes: 2 \w+, 3 \w+, 6 \w+/,
        /; skipped: feed-handler-crash, offload-failure, minio-unavailable; milestone gate \w+$/,
        "m",
      ),
    );
    expect(readFileSync(join(env.K2_OUT_DIR!, "03-failure-modes.html"), "utf8")).toContain(
      "start Docker or set DOCKER_HOST",
    );
    const named = await fm(["--tests", "feed-handler-crash"], { DOCKER_HOST: "unix:///tmp/no-docker.sock" });
    expect(named.code).toBe(3);
    expect(named.stderr.trim()).toMatch(
      /^03-failure-modes: error: Docker engine not reachable at unix:\/\/\/tmp\/no-docker\.sock/,
    );
  }, 180_000);
});

function readdirLatest(dir: string): string {
  const { readdirSync } = require("node:fs");
  return (readdirSync(dir) as string[])
    .filter((n) => /^\d{8}T/.test(n) && existsSync(join(dir, n, "manifest.json")))
    .sort()
    .at(-1)!;
}
async function waitFor<T>(get: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > until) return v;
    await Bun.sleep(250);
  }
}
