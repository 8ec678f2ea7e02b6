// Offload watermarks live in two places with different columns (FACTS.md): ClickHouse
// `offload_watermarks` (ReplacingMergeTree: table_name, last_offload_timestamp, status,
// failure_count, ...) and PostgreSQL `offload_watermarks` in the Prefect DB (TIMESTAMPTZ).
// The brief asks for `source_table, last_watermark`, which neither has: discover, not assume.
// On a deployed stack the offload writes only PostgreSQL; ClickHouse's copy (database default, seeded at 1970 by the
// init scripts, status initialized) is never updated. Both are read when both exist, and the one being written is
// used, saying why the other was not. `last_offload_timestamp` is the newest value of the table's own time column in
// the window offloaded (for gold, a window start: ohlcv_1d lags up to a day by design), so freshness is the last
// successful run against the schedule; the watermark is shown as information.
import { SQL } from "bun";
import { EXIT, firstLine, K2Error, redact, registerSecret } from "../runtime/errors.ts";
import { type Db, sqlIdent, sqlString } from "./clickhouse.ts";

/** One offload watermark, whichever store it came from. */
export type Watermark = {
  table: string;
  watermarkMs: number;
  status?: string | null;
  failures?: number | null;
  /** last_successful_run: the freshness of the offload (null when the store has no such column, or no run yet) */
  lastSuccessMs?: number | null;
  /** updated_at: when the row was last written, by a run that succeeded or failed */
  updatedMs?: number | null;
};

/** When the offload last succeeded, where the store says; else its watermark (the older stores' only clock). */
export const freshnessMs = (watermark: Watermark) => watermark.lastSuccessMs ?? watermark.watermarkMs;
/** The newest write a store shows: how alive it is. */
const activityMs = (watermark: Watermark) =>
  Math.max(watermark.updatedMs ?? 0, watermark.lastSuccessMs ?? 0, watermark.watermarkMs);

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
  lastSuccess?: string;
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
  const lastSuccess = pick(["last_successful_run"]);
  return {
    name,
    watermark,
    status: pick(STATUS),
    failures: pick(FAILURES),
    updated: updated === watermark ? undefined : updated,
    ...(lastSuccess && lastSuccess !== watermark ? { lastSuccess } : {}),
  };
}

export type WatermarkSource = {
  source: string;
  rows: Watermark[];
  columns: WatermarkColumns;
  /** with both stores read: why this one was used and the other not */
  why?: string;
};
/** One reading for the offload failure tests: the newest watermark across tables and the total failure count. */
export type WatermarkReading = { ms: number; status: string | null; failures: number | null; source: string };

/** Where ClickHouse keeps the watermarks and how its columns map: found once, for a reader that reads again. */
export type WatermarkTable = { where: string; m: WatermarkColumns };

async function locateClickhouse(db: Db, database: string): Promise<WatermarkTable | null> {
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
  return { where, m: mapWatermarkColumns(`ClickHouse ${where}`, cols) };
}

/**
 * ClickHouse: any database's offload_watermarks (the K2 one first). Null when there is none. `cache` keeps where the
 * table is between reads (the exporter reads every scrape: two system-table queries fewer each time); a read that
 * fails forgets it, so a table dropped and made again is found again.
 */
export async function clickhouseWatermarks(
  db: Db,
  database: string,
  cache?: { table?: WatermarkTable },
): Promise<WatermarkSource | null> {
  const located = cache?.table ?? (await locateClickhouse(db, database));
  if (!located) return null;
  if (cache) cache.table = located;
  try {
    return await readClickhouse(db, located);
  } catch (e) {
    if (cache) cache.table = undefined;
    throw e;
  }
}

async function readClickhouse(db: Db, { where, m }: WatermarkTable): Promise<WatermarkSource> {
  // ReplacingMergeTree keeps old versions until merges: take the newest per table, by its update time if it has one.
  const by = sqlIdent(m.updated ?? m.watermark);
  const ms = (c?: string) => (c ? `toUnixTimestamp64Milli(toDateTime64(max(${sqlIdent(c)}), 3))` : "NULL");
  const rows = await db.query<{
    table: string;
    ms: number;
    status: string | null;
    failures: number | null;
    success_ms: number | null;
    updated_ms: number | null;
  }>(
    `SELECT toString(${sqlIdent(m.name)}) AS table, ${ms(m.watermark)} AS ms,
      ${m.status ? `toString(argMax(${sqlIdent(m.status)}, ${by}))` : "NULL"} AS status,
      ${m.failures ? `toUInt64(argMax(${sqlIdent(m.failures)}, ${by}))` : "NULL"} AS failures,
      ${ms(m.lastSuccess)} AS success_ms, ${ms(m.updated)} AS updated_ms
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
      lastSuccessMs: epochOrNull(r.success_ms),
      updatedMs: epochOrNull(r.updated_ms),
    })),
  };
}

/** A time in ms, or null for none (NULL, or the 1970 a seeded row holds before its first run). */
const epochOrNull = (v: number | null | undefined) =>
  v === null || v === undefined || Number(v) <= 0 ? null : Number(v);

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
    const epoch = (c?: string) => (c ? sql`(extract(epoch FROM ${sql(c)}) * 1000)::float8` : sql`NULL::float8`);
    const rows = await sql`SELECT ${sql(m.name)}::text AS table, ${epoch(m.watermark)} AS ms,
        ${q(m.status)}::text AS status, ${q(m.failures)}::int AS failures,
        ${epoch(m.lastSuccess)} AS success_ms, ${epoch(m.updated)} AS updated_ms
      FROM offload_watermarks ORDER BY 1`;
    return {
      source: `${where} offload_watermarks`,
      columns: m,
      rows: rows.map((r: any) => ({
        table: r.table,
        watermarkMs: Number(r.ms),
        status: r.status,
        failures: r.failures,
        lastSuccessMs: epochOrNull(r.success_ms),
        updatedMs: epochOrNull(r.updated_ms),
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

/**
 * The watermarks from the store being written: ClickHouse's and, when its URL is known, the Prefect DB's are both read,
 * and the one with the newest write is used (`why` says why the other was not). Null when neither has them.
 */
export async function watermarkSource(
  db: Db,
  database: string,
  prefectDbUrl?: string,
  cache?: { table?: WatermarkTable },
): Promise<WatermarkSource | null> {
  const found = [
    await clickhouseWatermarks(db, database, cache),
    prefectDbUrl ? await postgresWatermarks(prefectDbUrl) : null,
  ];
  return liveSource(found.filter((s): s is WatermarkSource => s !== null));
}

/** Of the stores read, the one being written (its newest write the latest), saying why the others were not. */
function liveSource(stores: WatermarkSource[]): WatermarkSource | null {
  const newest = (source: WatermarkSource) => Math.max(0, ...source.rows.map(activityMs));
  const [used, ...others] = [...stores].sort((a, b) => newest(b) - newest(a));
  if (!used || !others.length) return used ?? null;
  const when = (ms: number) => (ms > 0 ? new Date(ms).toISOString().replace(/\.\d+Z$/, "Z") : "never");
  const why =
    `used ${used.source} (last written ${when(newest(used))}); not ` +
    others.map((o) => `${o.source} (last written ${when(newest(o))}: a stale copy)`).join(", ");
  return { ...used, why };
}
