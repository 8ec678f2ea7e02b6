// The lab owns only what it made: its own engine folder and the databases it marked there. A user's folder (here
// the platform's schema holding 10,000 known trades, as a copy of production kept for analysis) is measured in
// place by every notebook and left with the same rows in every table.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Target, targetFromEnv } from "../lib/io/clickhouse.ts";
import { LAB_MARK, resetLab } from "../lib/lab/schema.ts";
import { ENGINE_PATH, runCli, tempDir, testEngine } from "./helpers.ts";

describe("resetLab refuses what the lab does not own", () => {
  test("a target that is not the lab's folder", async () => {
    const t = await testEngine();
    const user = new Target({ kind: "embedded", path: ENGINE_PATH, database: "k2", lab: false }, t.client, t.version);
    await expect(resetLab(user, "k2_user")).rejects.toThrow(
      /^refusing to reset embedded chdb at .*: the lab owns only/,
    );
  });
  test("an unmarked database in the lab's folder is refused by name and kept", async () => {
    const t = await testEngine();
    await t.command("CREATE DATABASE IF NOT EXISTS k2_kept");
    await t.command("CREATE TABLE IF NOT EXISTS k2_kept.t (x UInt8) ENGINE = MergeTree ORDER BY x");
    await t.command("INSERT INTO k2_kept.t VALUES (1)");
    await expect(resetLab(t, "k2_kept", "k2_kept_truth")).rejects.toThrow(
      /^refusing to reset database k2_kept in .*: the lab did not create it/,
    );
    expect(await t.query("SELECT x FROM k2_kept.t")).toEqual([{ x: 1 }]);
  });
  test("the lab marks what it creates, and may rebuild it", async () => {
    const t = await testEngine();
    await resetLab(t, "k2_marked", "k2_marked_truth");
    await resetLab(t, "k2_marked", "k2_marked_truth");
    const rows = await t.query<{ comment: string }>(
      "SELECT comment FROM system.databases WHERE name IN ('k2_marked', 'k2_marked_truth')",
    );
    expect(rows.map((r) => r.comment)).toEqual([LAB_MARK, LAB_MARK]);
  });
  test("only the lab's own folder is the lab", () => {
    expect(targetFromEnv({})).toMatchObject({ kind: "embedded", lab: true });
    expect(targetFromEnv({ CLICKHOUSE_URL: "chdb:///tmp/copy-of-prod" })).toMatchObject({ lab: false });
  });
});

describe("a user's engine folder, measured in place", () => {
  const dir = tempDir("k2-user-"),
    folder = join(dir, "engine");
  const startMs = Date.now() - 400_000;
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), CLICKHOUSE_URL: `chdb://${folder}` };
  const counts = async () => JSON.parse((await runCli("tests/fixtures/user-engine.ts", ["count", folder])).stdout);
  let before: { tables: Record<string, number>; databases: string[] };
  beforeAll(async () => {
    const made = await runCli("tests/fixtures/user-engine.ts", ["make", folder, "10000", String(startMs)]);
    expect(made.code).toBe(0);
    before = await counts();
  }, 60_000);

  test("it holds the platform's tables and the known trades", () => {
    expect(before.tables["k2.silver_trades"]).toBe(10_000);
    expect(Object.keys(before.tables).length).toBe(10); // 3 bronze, silver, 6 gold
  });
  test("the lab refuses it in one line; every notebook leaves its rows as they were", async () => {
    const lab = await runCli("notebooks/lab.ts", [], env);
    expect([lab.code, lab.stderr.trim()]).toEqual([
      2,
      `lab: error: the lab runs only in its own engine folder (data/lab-engine), not in ${folder}: unset ` +
        "CLICKHOUSE_URL (the other notebooks measure that folder in place)",
    ]);
    const noDocker = { ...env, DOCKER_HOST: "unix:///nonexistent/docker.sock" };
    for (const [nb, args] of [
      ["notebooks/00-health.ts", []],
      ["notebooks/01-latency.ts", ["--scenarios", "1x", "--since", new Date(startMs - 1000).toISOString()]],
      ["notebooks/02-burn-in.ts", []],
      ["notebooks/03-failure-modes.ts", ["--tests", "feed-handler-crash"]],
      ["notebooks/04-alerting.ts", []],
    ] as const) {
      const r = await runCli(nb, [...args], noDocker);
      expect(r.stderr).not.toContain("    at "); // one line, never a stack
    }
    expect(await counts()).toEqual(before);
  }, 120_000);
  test("the latency notebook measures the existing trades with silver's fine clock", async () => {
    const r = await runCli(
      "notebooks/01-latency.ts",
      ["--scenarios", "1x", "--since", new Date(startMs - 1000).toISOString(), "--skip-health"],
      env,
    );
    expect(r.code).toBe(0);
    const [run] = [...new Bun.Glob("01-latency/*/scenarios.json").scanSync({ cwd: env.K2_DATA_DIR })].sort().reverse();
    const [rec] = await Bun.file(join(env.K2_DATA_DIR, run!)).json();
    expect(rec).toMatchObject({ lab: false, lagClock: "processed_at", loss: { lost: 0, duplicated: 0 } });
    // every known trade is in the window, counted by what landed
    expect(Math.round((rec.achievedRate * (rec.window.toMs - rec.window.fromMs)) / 1000)).toBe(10_000);
    expect(await counts()).toEqual(before);
  }, 60_000);
  test("a load on a stack is refused without --yes, naming what it would add", async () => {
    const r = await runCli("notebooks/01-latency.ts", ["--scenarios", "1x,5x", "--skip-health"], env);
    expect([r.code, r.stderr]).toEqual([
      2,
      "01-latency: error: refusing to load a real stack without --yes (no terminal to ask on)\n",
    ]);
    expect(await counts()).toEqual(before);
  });
  test("an unknown database is exit 4 with its name, and nothing is created", async () => {
    const r = await runCli("notebooks/01-latency.ts", ["--skip-health"], { ...env, CLICKHOUSE_DATABASE: "nope" });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/error: unknown database nope \(found: .*k2.*\): set CLICKHOUSE_DATABASE\n$/);
    expect((await counts()).databases).toEqual(before.databases);
  });
  test("a path that is not an engine folder is one line and exit 4", async () => {
    const r = await runCli("notebooks/01-latency.ts", [], { ...env, CLICKHOUSE_URL: "chdb:///etc/passwd" });
    expect([r.code, r.stderr]).toEqual([
      4,
      "01-latency: error: /etc/passwd is not an embedded engine folder (no metadata/ inside): point " +
        "CLICKHOUSE_URL=chdb://<folder> at an existing engine folder, or unset it for the lab\n",
    ]);
  });
});
