// Offload watermarks live in two places with different columns (FACTS.md): ClickHouse
// `offload_watermarks` (ReplacingMergeTree: table_name, last_offload_timestamp, status,
// failure_count, ...) and PostgreSQL `offload_watermarks` in the Prefect DB (TIMESTAMPTZ).
// The brief asks for `source_table, last_watermark`, which neither has: discover, not assume.
import { SQL } from "bun";
import type { Db } from "./clickhouse.ts";
import { sqlIdent, sqlString } from "./clickhouse.ts";
import { K2Error, EXIT, firstLine, registerSecret, redact } from "../runtime/errors.ts";

/** One offload watermark, whichever store it came from. */
export type Watermark = { table: string; watermarkMs: number; status?: string | null; failures?: number | null };

const NAME = ["table_name", "source_table", "table", "name"];
const WATERMARK = ["last_offload_timestamp", "last_watermark", "watermark", "last_successful_run", "updated_at"];
const STATUS = ["status", "last_status"];
const FAILURES = ["failure_count", "failures", "consecutive_failures"];

export type WatermarkColumns = {
  name: string;
  watermark: string;
  status?: string;
  failures?: string;
  updated?: string;
};

/** Choose the columns by role from what exists; the error names the table and its columns. */
export function mapWatermarkColumns(where: string, columns: string[]): WatermarkColumns {
  const pick = (c: string[]) => c.find((n) => columns.includes(n));
  const name = pick(NAME),
    watermark = pick(WATERMARK);
  if (!name || !watermark)
    throw new K2Error(
      `cannot read ${where}: no ` +
        `${!name ? `name column (${NAME.join("/")})` : `timestamp column (${WATERMARK.join("/")})`}; found: ` +
        `${columns.join(", ")}`,
      EXIT.notFound,
    );
  // a failed run rewrites the row with the same watermark: the newest write is the one its update time says
  const updated = pick(["updated_at"]);
  return {
    name,
    watermark,
    status: pick(STATUS),
    failures: pick(FAILURES),
    updated: updated === watermark ? undefined : updated,
  };
}

export type WatermarkSource = { source: string; rows: Watermark[]; columns: WatermarkColumns };
/** One reading for the offload failure tests: the newest watermark across tables and the total failure count. */
export type WatermarkReading = { ms: number; status: string | null; failures: number | null; source: string };

/** ClickHouse: any database's offload_watermarks (the K2 one first). Null when there is none. */
export async function clickhouseWatermarks(db: Db, database: string): Promise<WatermarkSource | null> {
  const tables = await db.query<{ database: string }>(
    `SELECT database FROM system.tables WHERE name = 'offload_watermarks' ORDER BY database != ${sqlString(database)}`,
  );
  if (!tables.length) return null;
  const where = `${tables[0]!.database}.offload_watermarks`;
  const cols = (
    await db.query<{ name: string }>(
      `SELECT name FROM system.columns WHERE database = ${sqlString(tables[0]!.database)} AND table = ` +
        `'offload_watermarks'`,
    )
  ).map((c) => c.name);
  const m = mapWatermarkColumns(`ClickHouse ${where}`, cols);
  // ReplacingMergeTree keeps old versions until merges: take the newest per table, by its update time if it has one.
  const by = sqlIdent(m.updated ?? m.watermark);
  const rows = await db.query<{ table: string; ms: number; status: string | null; failures: number | null }>(
    `SELECT toString(${sqlIdent(m.name)}) AS table, ` +
      `toUnixTimestamp64Milli(toDateTime64(max(${sqlIdent(m.watermark)}), 3)) AS ms,
      ${m.status ? `toString(argMax(${sqlIdent(m.status)}, ${by}))` : "NULL"} AS status,
      ${m.failures ? `toUInt64(argMax(${sqlIdent(m.failures)}, ${by}))` : "NULL"} AS failures
     FROM ${where} GROUP BY table ORDER BY table`,
  );
  return {
    source: `ClickHouse ${where}`,
    columns: m,
    rows: rows.map((r) => ({
      table: r.table,
      watermarkMs: Number(r.ms),
      status: r.status,
      failures: r.failures === null ? null : Number(r.failures),
    })),
  };
}

/**
 * PostgreSQL (the Prefect DB) through Bun's built-in client. PREFECT_DB_URL forms:
 *   postgres://prefect:secret@localhost:5432/prefect
 *   postgresql://prefect@127.0.0.1:5433/prefect?sslmode=disable
 */
export async function postgresWatermarks(url: string): Promise<WatermarkSource | null> {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  if (!parsed || !/^postgres(ql)?:$/.test(parsed.protocol))
    throw new K2Error(
      `invalid PREFECT_DB_URL: ${JSON.stringify(redact(url))} (expected postgres://user:password@host:5432/db)`,
    );
  registerSecret(decodeURIComponent(parsed.password));
  const where = `PostgreSQL ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  const sql = new SQL(url, { max: 1, connectionTimeout: 5, idleTimeout: 1 });
  try {
    const cols = (
      await sql`SELECT column_name FROM information_schema.columns WHERE table_name = 'offload_watermarks' ORDER BY
        ordinal_position`
    ).map((r: any) => r.column_name as string);
    if (!cols.length) return null;
    const m = mapWatermarkColumns(`${where} offload_watermarks`, cols);
    const q = (c?: string) => (c ? sql(c) : sql`NULL`);
    const rows =
      await sql`SELECT ${sql(m.name)}::text AS table, (extract(epoch FROM ${sql(m.watermark)}) * 1000)::float8 AS ms,
        ${q(m.status)}::text AS status, ${q(m.failures)}::int AS failures
      FROM offload_watermarks ORDER BY 1`;
    return {
      source: `${where} offload_watermarks`,
      columns: m,
      rows: rows.map((r: any) => ({
        table: r.table,
        watermarkMs: Number(r.ms),
        status: r.status,
        failures: r.failures,
      })),
    };
  } catch (e) {
    if (e instanceof K2Error) throw e;
    throw new K2Error(
      `cannot read offload_watermarks from ${where} (${firstLine(e)}): check PREFECT_DB_URL`,
      EXIT.unreachable,
    );
  } finally {
    await sql.close();
  }
}

/**
 * The newest watermark across tables, from ClickHouse or else the Prefect DB, with the total
 * failure count (a run that failed moves it even when the watermark stays): for the offload
 * failure tests on a stack. Null when neither place holds one.
 */
export async function newestWatermark(
  db: Db,
  database: string,
  prefectDbUrl?: string,
): Promise<WatermarkReading | null> {
  const src = await watermarkSource(db, database, prefectDbUrl);
  if (!src?.rows.length) return null;
  const top = src.rows.reduce((a, r) => (r.watermarkMs > a.watermarkMs ? r : a));
  const failures = src.columns.failures ? src.rows.reduce((a, r) => a + Number(r.failures ?? 0), 0) : null;
  return { ms: top.watermarkMs, status: top.status ?? null, failures, source: src.source };
}

/** The watermarks from ClickHouse, else from the Prefect DB when its URL is known; null when neither has them. */
export async function watermarkSource(
  db: Db,
  database: string,
  prefectDbUrl?: string,
): Promise<WatermarkSource | null> {
  return (await clickhouseWatermarks(db, database)) ?? (prefectDbUrl ? await postgresWatermarks(prefectDbUrl) : null);
}
