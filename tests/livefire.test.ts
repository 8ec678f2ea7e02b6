// Live fire: time compression (pure), and the notebook firing alerts in the lab through Debian's prometheus and
// alertmanager, with the webhook here; a container that runs out of memory on the real Docker engine.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import Docker from "dockerode";
import { compress, labFlushMs } from "../lib/alerting/compress.ts";
import { type FaultSpec, lanePhases, prometheusConfig } from "../lib/alerting/livefire/lab.ts";
import type { LiveFireRecord } from "../lib/alerting/livefire/record.ts";
import { timelineOf } from "../lib/alerting/livefire/report.ts";
import { baselineFired, fireBound, fireVerdict, firstIn, type StateChange } from "../lib/alerting/livefire/verdict.ts";
import { ALERTS, expressionOf, ruleYaml } from "../lib/alerting/rules.ts";
import { startPrometheus } from "../lib/io/prometheus.ts";
import { ensureDockerEngine, runCli, tempDir } from "./helpers.ts";

const byName = (n: string) => ALERTS.find((a) => a.name === n)!;

describe("the live fire's verdict, on recorded state changes", () => {
  const T0 = 1_000_000;
  const at = (alert: string, state: StateChange["state"], s: number): StateChange => ({
    alert,
    state,
    at: T0 + s * 1000,
  });
  // ServiceOOMKill in the lab, 10x compressed: condition 2 s after the fault, for 0, scrape 1 s, evaluation 1 s
  const bound = {
    conditionAfterMs: 2000,
    showsAfterHoldMs: 1000,
    forMs: 0,
    scrapeMs: 1000,
    evalMs: 1000,
    pollMs: 100,
    slowestScrapeMs: 0,
  };
  const observe = (changes: StateChange[], heldAfterMs: number | null, notices = [{ s: 10.5 }]) => {
    const boundMs = fireBound({ ...bound, heldAfterMs });
    return fireVerdict({
      alert: "ServiceOOMKill",
      fault: "k2-lab-oom runs out of memory",
      t0: T0,
      t1: T0 + 14_000,
      until: T0 + 13_000,
      waitedMs: 23_200,
      boundMs,
      changes,
      notices: notices.map((n) => ({ alert: "ServiceOOMKill", status: "firing", at: T0 + n.s * 1000 })),
      lastValue: "0",
      heldAfterMs,
      slowestScrapeMs: 0,
    });
  };
  const oom = [
    at("ServiceOOMKill", "pending", 9.4),
    at("ServiceOOMKill", "firing", 10.4),
    at("ServiceOOMKill", "inactive", 15),
  ];

  test("the bound: until the condition holds, then a scrape, an evaluation, for in whole evaluations, a poll", () => {
    expect(fireBound({ ...bound, heldAfterMs: null })).toBe(2000 + 1000 + 1000 + 0 + 100);
    expect(fireBound({ ...bound, forMs: 1500, heldAfterMs: null })).toBe(2000 + 1000 + 1000 + 2000 + 100);
    // ground truth moves it: held 8 s in, shown a scrape later
    expect(fireBound({ ...bound, heldAfterMs: 8000, slowestScrapeMs: 300 })).toBe(8000 + 1000 + 2100 + 300);
  });

  test("the CI flake: an OOM that took 8 s on a busy machine fires at 10.4 s; judged from when it held, PASS", () => {
    // without the lab's count the bound is 4.1 s and the same changes FAIL, as they did in CI (12.4 s against 7.1 s)
    expect(observe(oom, null)).toMatchObject({ status: "FAIL", note: "fired after its bound", boundMs: 4100 });
    const r = observe(oom, 8000);
    expect(r).toMatchObject({ status: "PASS", boundMs: 11_100, pendingMs: 9400, firingMs: 10_400, resolvedMs: 1000 });
    expect(r.notifiedMs).toBe(10_500);
    expect(r.note).toBe(
      "fired within its bound, notified, resolved (its condition held 8.0 s after the fault, by the lab's count)",
    );
  });

  test("never fired, fired but not heard, not resolved: FAIL, each saying why", () => {
    expect(observe([], 8000).note).toBe(
      "never fired within 23.2 s; its expression's last value: 0 (its condition " +
        "held 8.0 s after the fault, by the lab's count)",
    );
    expect(observe(oom, 8000, []).note).toMatch(/^fired, but no webhook arrived/);
    expect(observe(oom.slice(0, 2), 8000)).toMatchObject({ status: "FAIL", resolvedMs: null });
    // a firing seen only after the runner stopped waiting does not count
    expect(observe([at("ServiceOOMKill", "firing", 13.5)], 8000).firingMs).toBeNull();
  });

  test("first state at or after a time; the baseline names each alert once", () => {
    const cs = [at("A", "pending", 1), at("A", "firing", 2), at("B", "pending", 3), at("A", "inactive", 4)];
    expect(firstIn(cs, "A", ["firing"], T0)).toBe(T0 + 2000);
    expect(firstIn(cs, "A", ["firing"], T0 + 3000)).toBe(T0 + 3000); // already firing then
    expect(firstIn(cs, "A", ["firing"], T0 + 4500)).toBeNull();
    expect(baselineFired(cs)).toEqual(["A", "B"]);
    expect(baselineFired([at("A", "inactive", 1)])).toEqual([]);
  });
});

test("the timeline: states from the fault's start, resolved after the fault's length; no window without one", () => {
  const result = { fault: "f", status: "PASS" as const, note: "", notifiedMs: 10_300 };
  const rec = {
    faults: [{ alert: "FeedHandlerDown", fromMs: 1_000_000, toMs: 1_012_000 }],
    results: [
      { ...result, alert: "FeedHandlerDown", boundMs: 12_225, pendingMs: 9_300, firingMs: 10_200, resolvedMs: 1_900 },
      // measured from another fault's clearing: no window of its own, so no resolved time to place
      { ...result, alert: "MVProcessingDelay", boundMs: 7_225, pendingMs: null, firingMs: 3_900, resolvedMs: 5_800 },
    ],
  };
  const t = timelineOf(rec);
  expect(t.windows).toEqual([{ alert: "FeedHandlerDown", from: 0, to: 12 }]);
  expect(t.bounds).toEqual([
    { alert: "FeedHandlerDown", s: 12.225 },
    { alert: "MVProcessingDelay", s: 7.225 },
  ]);
  expect(t.moments).toEqual([
    { alert: "FeedHandlerDown", event: "pending", s: 9.3 },
    { alert: "FeedHandlerDown", event: "firing", s: 10.2 },
    { alert: "FeedHandlerDown", event: "notified", s: 10.3 },
    { alert: "FeedHandlerDown", event: "resolved", s: 13.9 },
    { alert: "MVProcessingDelay", event: "firing", s: 3.9 },
    { alert: "MVProcessingDelay", event: "notified", s: 10.3 },
  ]);
});

test("compression divides for, windows and time thresholds; counts stay", () => {
  const feed = compress(byName("FeedHandlerDown"), 30, 1000);
  expect([expressionOf(feed), feed.forMs]).toEqual([
    "(time() - max by (exchange) (k2_trades_newest_timestamp_seconds) > 4) " +
      "or on() absent(k2_trades_newest_timestamp_seconds)",
    500,
  ]);
  const lag = compress(byName("RedpandaConsumerLagHigh"), 30, 1000);
  expect(lag.condition).toContain("> 1000");
  expect(lag.forMs).toBe(10_000);
  // 2m / 30 = 4 s; a window never shorter than four scrapes
  expect(compress(byName("ClickHouseBronzeInsertFailure"), 30, 1000).condition).toContain("[4000ms]");
  expect(compress(byName("ClickHouseBronzeInsertFailure"), 600, 1000).condition).toContain("[4000ms]");
  expect(compress(byName("IcebergOffloadLag"), 30, 1000).condition).toContain("> 1");
  expect(compress(byName("IcebergOffloadFailure"), 30, 1000).condition).toContain("> 2");
  expect(compress(byName("FeedHandlerDown"), 1, 15_000)).toBe(byName("FeedHandlerDown"));
  // a time threshold never under four scrapes: at 60x with 2 s scrapes, 120 s is 8 s, not 2; minutes stay minutes
  expect(compress(byName("FeedHandlerDown"), 60, 2000).condition).toEndWith("> 8");
  expect(compress(byName("MVProcessingDelay"), 60, 2000).condition).toEndWith("> 8");
  expect(compress(byName("IcebergOffloadLag"), 60, 2000).condition).toEndWith("> 0.5");
  // the lab's flush shrinks as FeedHandlerDown's threshold does (120 s to 8 s: 15x), not by the factor;
  // full scale: K2's
  expect([labFlushMs(60, 2000), labFlushMs(30, 3000), labFlushMs(30, 1000), labFlushMs(1, 15_000)]).toEqual([
    500, 750, 250, 7500,
  ]);
});

test("lanes: the stall alone first, then the offload and exchange lanes side by side; no lane, alone", () => {
  const f = (alert: string, lane?: FaultSpec["lane"]): FaultSpec => ({
    alert,
    fault: alert,
    conditionAfterMs: 0,
    lane,
    apply: async () => {},
    clear: async () => {},
  });
  const specs = [f("A", "exchange"), f("B", "stall"), f("C", "offload"), f("D", "exchange"), f("E"), f("F", "stall")];
  const names = lanePhases(specs).map((phase) => phase.map((lane) => lane.map((x) => x.alert).join("")));
  expect(names).toEqual([["BF"], ["C", "AD"], ["E"]]);
  // a stack's faults carry no lane: every one alone, in order
  expect(lanePhases([f("X"), f("Y")]).map((p) => p.map((l) => l.map((x) => x.alert)))).toEqual([[["X"]], [["Y"]]]);
});

test("live fire in the lab: in bound, notified, resolved; a quiet baseline; the dashboard previewed", async () => {
  const host = await ensureDockerEngine();
  const dir = tempDir("k2-livefire-");
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: host };
  const r = await runCli(
    "notebooks/04-live-fire.ts",
    ["--alerts", "FeedHandlerDown,ClickHouseBronzeInsertFailure,ServiceOOMKill", "--baseline", "5s", "--gate"],
    env,
  );
  expect(r.stdout).toMatch(/^live fire \(60x compressed\): 3\/3 alerts fired within their bound; baseline quiet$/m);
  expect(r.code).toBe(0);
  const [run] = [...new Bun.Glob("04-live-fire/*/livefire.json").scanSync({ cwd: env.K2_DATA_DIR })];
  const rec: LiveFireRecord = await Bun.file(join(env.K2_DATA_DIR, run!)).json();
  for (const x of rec.results) {
    expect(x.status).toBe("PASS");
    // pending before firing, firing before the bound, the webhook after firing, resolved after clearing
    expect(x.pendingMs!).toBeLessThanOrEqual(x.firingMs!);
    expect(x.firingMs!).toBeLessThanOrEqual(x.boundMs);
    expect(x.notifiedMs!).toBeGreaterThanOrEqual(x.pendingMs!);
    expect(x.resolvedMs).not.toBeNull();
  }
  expect(rec.preview.some((p) => p.panel && p.series.some((s) => s.points.length > 5))).toBe(true);
  // nothing left running: the OOM container removed, no prometheus or alertmanager of ours
  const ps = Bun.spawnSync(["pgrep", "-f", "k2-(prometheus|alertmanager)-"]).stdout.toString().trim();
  expect(ps).toBe("");
}, 400_000);

test("--live: a stack's Prometheus and rules, step 3's faults through Docker, the lab served as a stack", async () => {
  const host = await ensureDockerEngine();
  const dir = tempDir("k2-live-");
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: host };
  const free = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = free.port!;
  free.stop(true);
  // the "stack's" Prometheus: all seven rules loaded, 30x compressed, scraping where the notebook serves the lab every
  // 3 s: a scrape must answer within its interval, and the lab's engine, sharing two cores with the suite's other
  // lanes, did not always within 2 s (the sources overran for longer than the exporter keeps their last answers, and
  // the guards and FeedHandlerDown fired in the baseline: CI, four lanes); a stack scrapes every 15 s
  const SCRAPE_MS = 3000;
  const rules = ruleYaml(ALERTS.map((a) => compress(a, 30, SCRAPE_MS)));
  const prom = await startPrometheus(prometheusConfig(port, null, SCRAPE_MS, 1000), { "k2-alerts.yml": rules });
  try {
    const alerts = "FeedHandlerDown,RedpandaConsumerLagHigh,ClickHouseBronzeInsertFailure,ServiceOOMKill";
    const args = ["--live", "--factor", "30", "--lab-port", String(port), "--alerts", alerts, "--baseline", "5s"];
    const r = await runCli("notebooks/04-live-fire.ts", args, { ...env, PROMETHEUS_URL: prom.url });
    expect(r.stderr).not.toContain("    at ");
    const [run] = [...new Bun.Glob("04-live-fire/*/livefire.json").scanSync({ cwd: env.K2_DATA_DIR })];
    const rec: LiveFireRecord = await Bun.file(join(env.K2_DATA_DIR, run!)).json();
    expect(rec.mode).toBe("live");
    expect([rec.scrapeMs, rec.evalMs, rec.alertmanager, rec.baseline.fired]).toEqual([SCRAPE_MS, 1000, null, []]);
    const by = Object.fromEntries(rec.results.map((x) => [x.alert, x]));
    expect(by.FeedHandlerDown!.fault).toBe("step 3's feed-handler-crash: docker stop k2-feed-handler-binance");
    expect(by.RedpandaConsumerLagHigh!.fault).toBe(
      "step 3's network-partition: docker network disconnect k2-lab_k2-net k2-clickhouse",
    );
    // each with its note and times, so that a failure says why
    for (const a of ["FeedHandlerDown", "RedpandaConsumerLagHigh", "ServiceOOMKill"]) {
      const x = by[a]!;
      const seen = {
        alert: a,
        status: x.status,
        note: x.note,
        inBound: x.firingMs! <= x.boundMs,
        resolved: !!x.resolvedMs,
      };
      expect(seen).toEqual({ alert: a, status: "PASS", note: x.note, inBound: true, resolved: true });
    }
    expect(by.ClickHouseBronzeInsertFailure!.status).toBe("NOT RUN");
    const md = await Bun.file(join(env.K2_OUT_DIR, "04-live-fire.md")).text();
    expect(md).toContain("fired through the stack's Prometheus");
    // every fault cleared: the journal empty, the handler running, k2-clickhouse back on the lab's network
    const journal = await Bun.file(join(env.K2_DATA_DIR, "03-failure-modes", "journal.json")).json();
    expect(journal).toEqual([]);
    const docker = new Docker({ socketPath: host.replace(/^unix:\/\//, "") });
    const handler = await docker.getContainer("k2-feed-handler-binance").inspect();
    const ch = await docker.getContainer("k2-clickhouse").inspect();
    expect([handler.State.Running, Object.keys(ch.NetworkSettings.Networks)]).toEqual([true, ["k2-lab_k2-net"]]);
  } finally {
    await prom.stop();
  }
}, 400_000);

test("bad input: an unknown alert named, a stack refused", async () => {
  const bad = await runCli("notebooks/04-live-fire.ts", ["--alerts", "NoSuchAlert"]);
  expect([bad.code, bad.stderr.trim()]).toEqual([
    2,
    `04-live-fire: error: invalid --alerts: unknown alert "NoSuchAlert" (${ALERTS.map((a) => a.name).join(", ")})`,
  ]);
  const stack = await runCli("notebooks/04-live-fire.ts", [], { CLICKHOUSE_URL: "http://127.0.0.1:1" });
  expect(stack.code).toBe(2);
  expect(stack.stderr).toContain("04-live-fire: error: live fire without --live runs on the lab");
  // --live on a stack: no Prometheus answering is one line, exit 3, before any fault
  const down = await runCli("notebooks/04-live-fire.ts", ["--live"], {
    CLICKHOUSE_URL: "http://127.0.0.1:1",
    PROMETHEUS_URL: "http://127.0.0.1:1",
  });
  expect([down.code, down.stderr.trim().split("\n").length]).toEqual([3, 1]);
  expect(down.stderr).toContain("Prometheus not reachable at http://127.0.0.1:1");
});

test("step 3 records the alerts a reachable Prometheus fired during each test; none reachable says so", async () => {
  const { startPrometheus } = await import("../lib/io/prometheus.ts");
  const rules = "groups:\n  - name: t\n    rules:\n      - alert: AlwaysOn\n        expr: vector(1)\n";
  const prom = await startPrometheus(JSON.stringify({ global: { evaluation_interval: "1s" }, rule_files: ["r.yml"] }), {
    "r.yml": rules,
  });
  try {
    const dir = tempDir("k2-fm-alerts-");
    const env = {
      K2_DATA_DIR: join(dir, "data"),
      K2_OUT_DIR: join(dir, "out"),
      DOCKER_HOST: "unix:///nonexistent.sock",
    };
    const args = ["--tests", "redpanda-restart", "--hold", "2s"];
    const r = await runCli("notebooks/03-failure-modes.ts", args, { ...env, PROMETHEUS_URL: prom.url });
    expect(r.stderr).not.toContain("    at ");
    const md = await Bun.file(join(env.K2_OUT_DIR, "03-failure-modes.md")).text();
    expect(md).toContain("## Alerts during the tests");
    expect(md).toMatch(/\| 2\. [^|]+ \| AlwaysOn after \d+ s \|/);
    await runCli("notebooks/03-failure-modes.ts", args, { ...env, PROMETHEUS_URL: "http://127.0.0.1:1" });
    expect(await Bun.file(join(env.K2_OUT_DIR, "03-failure-modes.md")).text()).toMatch(
      /\*\*NOT RUN\*\* Prometheus not reachable at .*; the alerts each test set off are not recorded/,
    );
  } finally {
    await prom.stop();
  }
}, 180_000);
