// Health verdicts on plain arrays, then the watermark and Prefect readers on real parts:
// PostgreSQL from Debian on loopback, the embedded ClickHouse, and a recorded Prefect API.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { evaluateFlow, evaluatePrefect, evaluateServices, evaluateWatermarks } from "../lib/health/verdict.ts";
import type { ContainerState } from "../lib/io/docker.ts";
import { type Postgres, startPostgres } from "../lib/io/postgres.ts";
import { recentRuns, startFlowRun } from "../lib/io/prefect.ts";
import {
  clickhouseWatermarks,
  mapWatermarkColumns,
  postgresWatermarks,
  watermarkSource,
} from "../lib/io/watermarks.ts";
import { SERVICES } from "../lib/k2/stack.ts";
import { worst } from "../lib/verdict/status.ts";
import { re, startPrefectFixture, testEngine } from "./helpers.ts";

const NOW = Date.parse("2026-02-19T09:00:00Z");
const up = (name: string, over: Partial<ContainerState> = {}): ContainerState => ({
  name,
  lab: false,
  state: "running",
  restartCount: 0,
  oomKilled: false,
  exitCode: null,
  startedAt: "2026-02-19T08:00:00Z",
  finishedAt: null,
  ...over,
});

describe("evaluateServices", () => {
  const all = () =>
    SERVICES.map((s) =>
      s.oneShot
        ? up(s.container, { state: "exited", exitCode: 0 })
        : up(s.container, s.healthcheck ? { health: "healthy" } : {}),
    );
  test("all up, the one-shot init exited 0: every check passes", () => {
    const checks = evaluateServices(SERVICES, all(), NOW);
    expect(checks.length).toBe(14);
    expect(worst(checks)).toBe("PASS");
    expect(checks.find((c) => c.subject === "k2-redpanda-init")!.evidence).toBe("one-shot, exited 0");
    expect(checks.find((c) => c.subject === "k2-clickhouse")!.evidence).toBe("running, healthy, up 60.0 min");
  });
  test("stopped, missing, unhealthy, restarted, failed init: each named", () => {
    const found = all()
      .filter((c) => c.name !== "k2-minio")
      .map((c) =>
        c.name === "k2-feed-handler-binance"
          ? { ...c, state: "exited", exitCode: 137, oomKilled: true }
          : c.name === "k2-clickhouse"
            ? { ...c, health: "unhealthy" }
            : c.name === "k2-redpanda"
              ? { ...c, restartCount: 2 }
              : c.name === "k2-redpanda-init"
                ? { ...c, exitCode: 1 }
                : c,
      );
    const bad = evaluateServices(SERVICES, [...found, up("k2-extra")], NOW)
      .filter((c) => c.status !== "PASS")
      .map((c) => [c.subject, c.status, c.evidence]);
    expect(bad).toEqual([
      ["k2-feed-handler-binance", "FAIL", "exited (exit 137, OOM killed)"],
      ["k2-redpanda", "WARN", "running, healthy, up 60.0 min, 2 restarts"],
      ["k2-redpanda-init", "FAIL", "one-shot, exited 1"],
      ["k2-clickhouse", "FAIL", "running, unhealthy"],
      ["k2-minio", "FAIL", "not found"],
      ["k2-extra", "INFO", "not in the expected set (running)"],
    ]);
  });
});

test("evaluateFlow: stale beyond the limit and missing exchanges fail", () => {
  const checks = evaluateFlow(
    [
      { exchange: "binance", rows: 100, newest_age_ms: 500 },
      { exchange: "kraken", rows: 40, newest_age_ms: 180_000 },
    ],
    ["binance", "kraken", "coinbase"],
    120_000,
    300_000,
  );
  expect(checks.map((c) => [c.subject, c.status, c.evidence])).toEqual([
    ["binance", "PASS", "100 trades in 5.0 min, newest 500 ms ago"],
    ["kraken", "FAIL", "40 trades in 5.0 min, newest 3.0 min ago (stale beyond 2.0 min)"],
    ["coinbase", "FAIL", "no trades in the last 5.0 min"],
  ]);
});

test("evaluateWatermarks: a gold table's watermark is a window start; freshness is the last successful run", () => {
  const m = (min: number) => NOW - min * 60_000;
  const [day, stalled] = evaluateWatermarks(
    [
      { table: "ohlcv_1d", watermarkMs: m(20 * 60), lastSuccessMs: m(4), status: "success" },
      { table: "silver_trades", watermarkMs: m(40), lastSuccessMs: m(40), status: "failed", failures: 2 },
    ],
    "src",
    NOW,
    15 * 60_000,
  );
  expect([day!.status, day!.evidence]).toEqual([
    "PASS",
    "src: last successful run 4.0 min ago, data up to 20.0 h ago, status success",
  ]);
  expect(stalled!.status).toBe("FAIL");
});

test("evaluateWatermarks: against the 15-minute schedule with 5 minutes grace", () => {
  const m = (min: number) => NOW - min * 60_000;
  const checks = evaluateWatermarks(
    [
      { table: "a", watermarkMs: m(10) },
      { table: "b", watermarkMs: m(30) },
      { table: "c", watermarkMs: m(90), status: "failed", failures: 4 },
    ],
    "src",
    NOW,
    15 * 60_000,
  );
  expect(checks.map((c) => c.status)).toEqual(["PASS", "WARN", "FAIL"]);
  expect(checks[2]!.evidence).toBe("src: newest 90.0 min ago, status failed, 4 failures (schedule every 15.0 min)");
  expect(evaluateWatermarks([], "src", NOW, 15 * 60_000)[0]!.status).toBe("FAIL");
});

test("evaluatePrefect: fresh completion passes; more than 2 failures in a row fail", () => {
  const iso = (min: number) => new Date(NOW - min * 60_000).toISOString();
  const ok = evaluatePrefect(
    [
      { name: "r", state_type: "RUNNING" },
      { name: "q", state_type: "COMPLETED", end_time: iso(14) },
    ],
    "d",
    NOW,
    15 * 60_000,
  );
  expect(ok.status).toBe("PASS");
  const bad = evaluatePrefect(
    ["FAILED", "FAILED", "CRASHED", "COMPLETED"].map((s, i) => ({
      name: `r${i}`,
      state_type: s,
      end_time: iso(i * 15),
    })),
    "d",
    NOW,
    15 * 60_000,
  );
  expect([bad.status, bad.evidence]).toEqual([
    "FAIL",
    "last 4: FAILED, FAILED, CRASHED, COMPLETED; last COMPLETED 45.0 min ago; 3 failed in a row",
  ]);
  expect(evaluatePrefect([], "d", NOW, 15 * 60_000).status).toBe("FAIL");
});

test("mapWatermarkColumns names the table and what it found", () => {
  expect(mapWatermarkColumns("x", ["table_name", "last_offload_timestamp", "status", "failure_count"])).toEqual({
    name: "table_name",
    watermark: "last_offload_timestamp",
    status: "status",
    failures: "failure_count",
  });
  expect(() => mapWatermarkColumns("PostgreSQL db offload_watermarks", ["id", "note"])).toThrow(
    "cannot read PostgreSQL db offload_watermarks: no name column (table_name/source_table/table/name); found: id, " +
      "note",
  );
});

describe("watermarks in the Prefect DB (PostgreSQL 15 on loopback)", () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
    const sql = new SQL(pg.url);
    // The Prefect DB's table as FACTS.md describes it (same ideas as ClickHouse's, TIMESTAMPTZ).
    await sql`CREATE TABLE offload_watermarks (table_name text PRIMARY KEY, last_offload_timestamp timestamptz,
      last_offload_max_sequence bigint,
      last_offload_row_count bigint, status text, failure_count int, last_successful_run timestamptz, updated_at
        timestamptz DEFAULT now())`;
    await sql`INSERT INTO offload_watermarks VALUES
      ('bronze_trades_binance', now() - interval '7 minutes', 1000, 900, 'success', 0, now() - interval '7 minutes',
        now()),
      ('silver_trades', now() - interval '3 hours', 5000, 4000, 'failed', 3, now() - interval '3 hours', now())`;
    await sql.close();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  test("postgresWatermarks discovers the columns and reads every table's watermark", async () => {
    const w = (await postgresWatermarks(pg.url))!;
    expect(w.columns).toEqual({
      name: "table_name",
      watermark: "last_offload_timestamp",
      status: "status",
      failures: "failure_count",
      updated: "updated_at", // a failed run's row keeps the watermark: its update time says which is newest
      lastSuccess: "last_successful_run", // the offload's freshness
    });
    expect(w.source).toMatch(/^PostgreSQL 127\.0\.0\.1:\d+\/prefect offload_watermarks$/);
    const ages = w.rows.map((r) => [r.table, Math.round((Date.now() - r.watermarkMs) / 60_000), r.status, r.failures]);
    expect(ages).toEqual([
      ["bronze_trades_binance", 7, "success", 0],
      ["silver_trades", 180, "failed", 3],
    ]);
    expect(evaluateWatermarks(w.rows, w.source, Date.now(), 15 * 60_000).map((c) => c.status)).toEqual([
      "PASS",
      "FAIL",
    ]);
  });
  test("both stores: the one being written is used, the stale copy named (ClickHouse's, seeded at 1970)", async () => {
    const t = await testEngine();
    await t.command("CREATE DATABASE IF NOT EXISTS wm_stale");
    await t.command(
      "CREATE OR REPLACE TABLE wm_stale.offload_watermarks (table_name String, last_offload_timestamp DateTime64(6), " +
        "status String, failure_count UInt32, last_successful_run Nullable(DateTime64(6)), updated_at DateTime64(6)) " +
        "ENGINE = ReplacingMergeTree(updated_at) ORDER BY table_name",
    );
    // as the init scripts leave it: one row per table at 1970, initialized, never updated
    await t.command(
      "INSERT INTO wm_stale.offload_watermarks VALUES ('silver_trades', toDateTime64(0, 6), 'initialized', 0, NULL, " +
        "toDateTime64(0, 6))",
    );
    try {
      const w = (await watermarkSource(t, "wm_stale", pg.url))!;
      expect(w.source).toMatch(/^PostgreSQL 127\.0\.0\.1:\d+\/prefect offload_watermarks$/);
      expect(w.why).toMatch(
        re(
          /^used PostgreSQL .* \(last written 20\d\d-.*Z\); /,
          /not ClickHouse wm_stale\.offload_watermarks \(last written never: a stale copy\)$/,
        ),
      );
      expect(w.rows.map((r) => r.table)).toEqual(["bronze_trades_binance", "silver_trades"]);
      // ClickHouse alone is read as it is: its 1970 row fails, saying so
      const only = (await watermarkSource(t, "wm_stale"))!;
      expect([only.source, only.why]).toEqual(["ClickHouse wm_stale.offload_watermarks", undefined]);
      expect(evaluateWatermarks(only.rows, only.source, Date.now(), 15 * 60_000)[0]!.status).toBe("FAIL");
    } finally {
      await t.command("DROP DATABASE wm_stale SYNC");
    }
  });
  test("a wrong password is reported without the password", async () => {
    const url = pg.url.replace(/:[^:@]+@/, ":Wrong-Pw-123@");
    const err = await postgresWatermarks(url).catch((e) => e);
    expect(err.message).toMatch(
      /^cannot read offload_watermarks from PostgreSQL 127\.0\.0\.1:\d+\/prefect \(.*\): check PREFECT_DB_URL$/,
    );
    expect(err.message).not.toContain("Wrong-Pw-123");
  });
});

test("clickhouseWatermarks reads the newest version per table from a ReplacingMergeTree", async () => {
  const t = await testEngine();
  await t.command("CREATE DATABASE IF NOT EXISTS wm");
  await t.command(
    `CREATE OR REPLACE TABLE wm.offload_watermarks (table_name String, last_offload_timestamp ` +
      `DateTime64(6), last_offload_max_sequence UInt64,
    last_offload_row_count UInt64, status String, failure_count UInt32, last_successful_run DateTime64(6), updated_at
      DateTime64(6)) ENGINE = ReplacingMergeTree(updated_at) ORDER BY table_name`,
  );
  await t.command(
    `INSERT INTO wm.offload_watermarks VALUES ('silver_trades', now64(6) - INTERVAL 40 MINUTE, 1, 1, ` +
      `'success', 0, now64(6), now64(6) - 1),
    ('silver_trades', now64(6) - INTERVAL 5 MINUTE, 2, 2, 'success', 0, now64(6), now64(6))`,
  );
  const w = (await clickhouseWatermarks(t, "wm"))!;
  expect(w.source).toBe("ClickHouse wm.offload_watermarks");
  expect(w.rows.length).toBe(1);
  expect(Math.round((Date.now() - w.rows[0]!.watermarkMs) / 60_000)).toBe(5);
  await t.command("DROP DATABASE wm SYNC");
});

describe("recentRuns against a recorded Prefect API on loopback", () => {
  test("healthy recording: PASS; the request filters by deployment name", async () => {
    const f = startPrefectFixture("healthy");
    try {
      const runs = await recentRuns(f.url, "iceberg-offload-15min");
      // the future SCHEDULED run is left out
      expect(runs.map((r) => r.state_type)).toEqual(["RUNNING", "COMPLETED", "COMPLETED"]);
      expect(f.requests[0]).toEqual({
        deployments: { name: { any_: ["iceberg-offload-15min"] } },
        sort: "EXPECTED_START_TIME_DESC",
        limit: 10,
      });
      expect(evaluatePrefect(runs, "iceberg-offload-15min", Date.now(), 15 * 60_000).status).toBe("PASS");
    } finally {
      f.stop();
    }
  });
  test("failing recording: three failures in a row FAIL", async () => {
    const f = startPrefectFixture("failing");
    try {
      const c = evaluatePrefect(
        await recentRuns(f.url, "iceberg-offload-15min"),
        "iceberg-offload-15min",
        Date.now(),
        15 * 60_000,
      );
      expect([c.status, c.evidence]).toEqual([
        "FAIL",
        "last 4: Failed, Failed, Crashed, Completed; last COMPLETED 44.0 min ago; 3 failed in a row",
      ]);
    } finally {
      f.stop();
    }
  });
  test("startFlowRun: the deployment found by flow/name, a flow run created for it; an unknown one named", async () => {
    const f = startPrefectFixture("healthy");
    try {
      const r = await startFlowRun(f.url, "iceberg-offload-main/iceberg-offload-15min");
      expect([r.name, r.state_type, f.started]).toEqual(["quick-run-1", "SCHEDULED", ["{}"]]);
      await expect(startFlowRun(f.url, "iceberg-offload-main/nope")).rejects.toThrow(
        `Prefect API at ${f.url} answered 404 to deployments/name/iceberg-offload-main/nope: check PREFECT_API_URL ` +
          "(it ends in /api) and the deployment's flow/name",
      );
      expect(f.started.length).toBe(1);
    } finally {
      f.stop();
    }
  });
  test("unreachable: the URL and the fix", async () => {
    await expect(recentRuns("http://127.0.0.1:1/api", "d")).rejects.toThrow(
      /^Prefect API not reachable at http:\/\/127\.0\.0\.1:1\/api \(.*\): start Prefect or set PREFECT_API_URL$/,
    );
  });
});
