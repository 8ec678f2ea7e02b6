// Live fire: time compression (pure), and the notebook firing alerts in the lab through Debian's prometheus and
// alertmanager, with the webhook here; a container that runs out of memory on the real Docker engine.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { compress } from "../lib/alerting/compress.ts";
import { ALERTS, expressionOf } from "../lib/alerting/rules.ts";
import type { LiveFireRecord } from "../lib/alerting/livefire.ts";
import { runCli, tempDir, ensureDockerEngine } from "./helpers.ts";

const byName = (n: string) => ALERTS.find((a) => a.name === n)!;

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
  expect(r.stdout).toMatch(/^live fire \(30x compressed\): 3\/3 alerts fired within their bound; baseline quiet$/m);
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
}, 240_000);

test("bad input: an unknown alert named, a stack refused", async () => {
  const bad = await runCli("notebooks/04-live-fire.ts", ["--alerts", "NoSuchAlert"]);
  expect([bad.code, bad.stderr.trim()]).toEqual([
    2,
    `04-live-fire: error: invalid --alerts: unknown alert "NoSuchAlert" (${ALERTS.map((a) => a.name).join(", ")})`,
  ]);
  const stack = await runCli("notebooks/04-live-fire.ts", [], { CLICKHOUSE_URL: "http://127.0.0.1:1" });
  expect(stack.code).toBe(2);
  expect(stack.stderr).toContain("04-live-fire: error: live fire runs on the lab");
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
