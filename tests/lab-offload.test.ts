// The lab's offload job as K2's keeps its watermarks: the Prefect DB's offload_watermarks (a real PostgreSQL) written,
// ClickHouse's copy seeded at 1970 and never written again. Every reader has to tell the live store from the stale one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { sqlString, Target } from "../lib/io/clickhouse.ts";
import { type Postgres, startPostgres } from "../lib/io/postgres.ts";
import { clickhouseWatermarks, newestWatermark, watermarkSource } from "../lib/io/watermarks.ts";
import { LabOffload, postgresStore } from "../lib/lab/offload.ts";
import { LAB_MARK, LAB_TRUTH_DB } from "../lib/lab/schema.ts";
import { re, testEngine } from "./helpers.ts";

const DB = "lab_offload_pg";
let pg: Postgres, t: Target, offload: LabOffload;
beforeAll(async () => {
  pg = await startPostgres();
  const engine = await testEngine();
  t = new Target({ ...engine.spec, database: DB }, engine.client, engine.version);
  await t.command(`DROP DATABASE IF EXISTS ${DB} SYNC`);
  await t.command(`CREATE DATABASE ${DB}`);
  // as the lab makes it (marked as the lab's): a lab test later in this process may reset it
  await t.command(`CREATE DATABASE IF NOT EXISTS ${LAB_TRUTH_DB} COMMENT ${sqlString(LAB_MARK)}`);
  await t.command(
    `CREATE TABLE ${DB}.silver_trades (message_id UUID, exchange String, symbol String, source_sequence ` +
      "Nullable(UInt64), processed_at DateTime64(6)) ENGINE = MergeTree ORDER BY processed_at",
  );
  // 40 trades landed 10 s ago: the next run offloads them all (it takes up to two seconds ago)
  await t.command(
    `INSERT INTO ${DB}.silver_trades SELECT generateUUIDv4(), 'binance', 'BTCUSDT', number, ` +
      "now64(6) - INTERVAL 10 SECOND FROM numbers(40)",
  );
  offload = await new LabOffload(t, null, 60_000, postgresStore(pg.url, t)).setup();
}, 60_000);
afterAll(async () => {
  await offload?.store.close();
  await pg?.stop();
  await t?.command(`DROP DATABASE IF EXISTS ${DB} SYNC`);
});

test("a run writes the Prefect DB; ClickHouse's copy stays at 1970, initialized", async () => {
  const run = await offload.runOnce();
  expect([run.ok, run.rows]).toEqual([true, 40]);
  const sql = new SQL(pg.url);
  const [row] = await sql`SELECT status, failure_count, last_offload_row_count::int AS n,
    extract(epoch FROM now() - last_successful_run)::float8 AS age_s FROM offload_watermarks`;
  await sql.close();
  expect([row.status, row.failure_count, row.n]).toEqual(["success", 0, 40]);
  expect(row.age_s).toBeLessThan(30);
  const stale = (await clickhouseWatermarks(t, DB))!;
  expect(stale.rows.map((r) => [r.table, r.watermarkMs, r.status, r.lastSuccessMs, r.updatedMs])).toEqual([
    ["silver_trades", 0, "initialized", null, null],
  ]);
});

test("the readers use the Prefect DB and say why not ClickHouse's copy", async () => {
  const src = (await watermarkSource(t, DB, pg.url))!;
  expect(src.source).toMatch(/^PostgreSQL 127\.0\.0\.1:\d+\/prefect offload_watermarks$/);
  expect(src.why).toMatch(
    re(/^used PostgreSQL .* \(last written 20\d\d-.*Z\); /, /not ClickHouse lab_offload_pg\.offload_watermarks/),
  );
  const reading = (await newestWatermark(t, DB, pg.url))!;
  expect(Math.abs(Date.now() - 12_000 - reading.ms)).toBeLessThan(20_000);
  expect([reading.status, reading.failures]).toEqual(["success", 0]);
});

test("a failed run keeps the watermark and the last success, and counts the failure, in the Prefect DB", async () => {
  const before = (await newestWatermark(t, DB, pg.url))!;
  offload.fault = "k2-spark-iceberg not running";
  const run = await offload.runOnce();
  offload.fault = undefined;
  expect([run.ok, run.reason]).toEqual([false, "k2-spark-iceberg not running"]);
  const after = (await newestWatermark(t, DB, pg.url))!;
  expect([after.ms, after.status, after.failures]).toEqual([before.ms, "failed", 1]);
  const next = await offload.runOnce();
  expect(next.ok).toBe(true);
  expect((await newestWatermark(t, DB, pg.url))!.failures).toBe(0);
});
