// notebooks/00-health.ts on the lab with a real Docker engine, a real PostgreSQL and the
// recorded Prefect API: healthy, a stopped feed handler, a silenced stream, an old watermark.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { SQL } from "bun";
import Docker from "dockerode";
import { type Postgres, startPostgres } from "../lib/io/postgres.ts";
import { ensureDockerEngine, re, runCli, startPrefectFixture, tempDir } from "./helpers.ts";

describe("notebooks/00-health.ts on the lab", () => {
  let env: Record<string, string>, pg: Postgres, prefect: ReturnType<typeof startPrefectFixture>, docker: Docker;
  beforeAll(async () => {
    const host = await ensureDockerEngine();
    docker = new Docker({ socketPath: host.replace("unix://", "") });
    pg = await startPostgres();
    const sql = new SQL(pg.url);
    await sql`CREATE TABLE offload_watermarks (table_name text PRIMARY KEY, last_offload_timestamp timestamptz, status
      text, failure_count int, updated_at timestamptz)`;
    await sql`INSERT INTO offload_watermarks VALUES ('silver_trades', now() - interval '6 minutes', 'success', 0,
      now())`;
    await sql.close();
    prefect = startPrefectFixture("healthy");
    const dir = tempDir();
    env = {
      K2_DATA_DIR: join(dir, "data"),
      K2_OUT_DIR: join(dir, "out"),
      DOCKER_HOST: host,
      PREFECT_DB_URL: pg.url,
      PREFECT_API_URL: prefect.url,
    };
  }, 120_000);
  afterAll(async () => {
    prefect?.stop();
    await pg?.stop();
    await docker
      ?.getContainer("k2-feed-handler-binance")
      .start()
      .catch(() => {});
  });
  const health = (args: string[], extra: Record<string, string> = {}) =>
    runCli("notebooks/00-health.ts", args, { ...env, ...extra });

  test("healthy: every check PASS, exit 0", async () => {
    const r = await health(["--lab-replay", "5s"]);
    expect(r.stdout).toMatch(/^health: PASS — 19 pass, 0 warn, 0 fail, 0 skipped$/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/offload watermarks +PASS/);
    expect(r.stdout).toMatch(/prefect schedule +PASS/);
    expect(r.stdout.split("\n").length).toBeLessThanOrEqual(20);
  }, 120_000);
  test("a stopped feed-handler container: FAIL naming it, exit 6", async () => {
    await docker.getContainer("k2-feed-handler-binance").stop({ t: 1 });
    try {
      const r = await health(["--lab-replay", "3s"]);
      expect(r.code).toBe(6);
      expect(r.stdout).toMatch(/^health: FAIL/);
      expect(r.stdout).toMatch(/services +FAIL +k2-feed-handler-binance: exited \(exit 0\)/);
    } finally {
      await docker.getContainer("k2-feed-handler-binance").start();
    }
  }, 120_000);
  test("the lab's Binance stream silenced: stale FAIL for binance only", async () => {
    const r = await health(["--lab-replay", "9s", "--lab-fault", "silence:binance@1s+60s", "--stale", "5s"]);
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(
      /trades flowing +FAIL +binance: \d+ trades in 5\.0 min, newest [\d.]+ s ago \(stale beyond 5\.0 s\)$/m,
    );
    expect(r.stdout).not.toMatch(/trades flowing.*(kraken|coinbase)/);
  }, 120_000);
  test("an old watermark in the Prefect DB: FAIL", async () => {
    const sql = new SQL(pg.url);
    await sql`UPDATE offload_watermarks SET last_offload_timestamp = now() - interval '2 hours'`;
    await sql.close();
    const r = await health(["--lab-replay", "3s"]);
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(
      re(
        /offload watermarks +FAIL +silver_trades: PostgreSQL .* newest 2\.0 h ago/,
        /, status success \(schedule every 15\.0 min\)/,
      ),
    );
  }, 120_000);
  test("no Docker engine: services SKIPPED naming DOCKER_HOST and the socket, the rest still checked", async () => {
    const r = await health(["--lab-replay", "3s"], {
      DOCKER_HOST: "unix:///tmp/no-such-docker.sock",
      PREFECT_DB_URL: "",
    });
    expect(r.stdout).toMatch(
      re(
        /services +SKIPPED +Docker engine not reachable at unix:\/\/\/tmp\/no-such-docker\.sock/,
        / \(.*\): start Docker or set DOCKER_HOST/,
      ),
    );
    expect(r.stdout).toMatch(/trades flowing +PASS/);
    expect(r.code).toBe(0);
  }, 120_000);
});
