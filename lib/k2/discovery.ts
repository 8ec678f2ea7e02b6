// Schema discovery. Real K2 schemas drift from their documents (silver has no
// exchange_timestamp; bronze stamps ingestion at one-second resolution; watermark tables
// differ), so notebooks never hard-code a column: they ask this module which column plays
// each role in each trade table, and at what time resolution.
import { type Db, sqlIdent, sqlString, sqlTimeMs } from "../io/clickhouse.ts";
import { EXIT, firstLine, K2Error, warnOnce } from "../runtime/errors.ts";
import type { K2Config, Role } from "./config.ts";
import { EXCHANGE_NAMES } from "./stack.ts";

export type ColumnInfo = { table: string; name: string; type: string };
export type TimeColumn = { column: string; type: string; resolutionMs: number; observedResolutionMs?: number | null };
export type Mapping = {
  table: string;
  layer: "bronze" | "silver" | "other";
  exchangeTime: TimeColumn;
  ingestionTime: TimeColumn;
  /** another ingestion-side clock in the same table with at least millisecond resolution */
  finerIngestion?: TimeColumn;
  exchange: { column: string } | { constant: string };
  symbol: string;
  sequence: string | null;
  notes: string[];
  /** roles set by k2.config.json: discovery does not second-guess them */
  overridden?: Role[];
};

// Preference order per role: the first existing column wins unless config overrides it.
const CANDIDATES: Record<Role, string[]> = {
  exchangeTime: ["exchange_timestamp", "exchange_time", "trade_time", "timestamp", "event_time"],
  ingestionTime: ["ingestion_timestamp", "ingestion_time", "ingested_at", "inserted_at", "processed_at"],
  exchange: ["exchange", "venue", "source"],
  symbol: ["symbol", "canonical_symbol", "instrument", "pair"],
  sequence: ["sequence_number", "source_sequence", "sequence", "seq", "trade_seq"],
};
const FINER_INGESTION = ["processed_at", "ingested_at", "inserted_at", "ingestion_timestamp"];

/**
 * Seconds per tick of a ClickHouse time type, in milliseconds:
 *   DateTime / DateTime('UTC') -> 1000;  DateTime64(3) -> 1;  DateTime64(6, 'UTC') -> 0.001;
 *   Nullable(DateTime64(9)) -> 0.000001;  Date -> 86400000;  anything else -> null
 */
export function timeResolutionMs(type: string): number | null {
  const t = type.replace(/^(Nullable|LowCardinality)\((.*)\)$/, "$2");
  const m64 = /^DateTime64\((\d)/.exec(t);
  if (m64) return 1000 / 10 ** Number(m64[1]);
  if (/^DateTime(\(|$)/.test(t)) return 1000;
  if (/^Date(32)?$/.test(t)) return 86_400_000;
  return null;
}

export function mapTradeTable(
  table: string,
  columns: ColumnInfo[],
  overrides: Partial<Record<Role, string>> = {},
): Mapping {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const found = () => columns.map((c) => `${c.name} ${c.type}`).join(", ") || "no columns";
  const fail = (role: Role, why: string) =>
    new K2Error(
      `cannot map the ${role} column of ${table}: ${why}; found: ${found()}; set ` +
        `discovery.columns["${short(table)}"].${role} in k2.config.json`,
      EXIT.notFound,
    );
  const pick = (role: Role, ok: (column: ColumnInfo) => boolean): ColumnInfo | undefined => {
    const name = overrides[role];
    if (name) {
      const c = byName.get(name);
      if (!c) throw fail(role, `override ${JSON.stringify(name)} is not a column`);
      if (!ok(c)) throw fail(role, `override ${name} has unsuitable type ${c.type}`);
      return c;
    }
    return CANDIDATES[role].map((n) => byName.get(n)).find((c) => c && ok(c));
  };
  const isTime = (column: ColumnInfo) =>
    timeResolutionMs(column.type) !== null && timeResolutionMs(column.type)! < 86_400_000;
  const time = (timeColumn: ColumnInfo): TimeColumn => ({
    column: timeColumn.name,
    type: timeColumn.type,
    resolutionMs: timeResolutionMs(timeColumn.type)!,
  });

  const ex = pick("exchangeTime", isTime);
  if (!ex) throw fail("exchangeTime", "no time column among " + CANDIDATES.exchangeTime.join("/"));
  const ing = pick("ingestionTime", (c) => isTime(c) && c.name !== ex.name);
  if (!ing) throw fail("ingestionTime", "no time column among " + CANDIDATES.ingestionTime.join("/"));
  const sym = pick("symbol", (c) => /String/.test(c.type));
  if (!sym) throw fail("symbol", "no string column among " + CANDIDATES.symbol.join("/"));
  const seq = pick("sequence", (c) => /U?Int(8|16|32|64|128|256)/.test(c.type)) ?? null;

  const notes: string[] = [];
  let exchange: Mapping["exchange"];
  const exCol = pick("exchange", (c) => /String|Enum/.test(c.type));
  if (exCol) exchange = { column: exCol.name };
  else {
    const fromName = EXCHANGE_NAMES.find((e) => short(table).toLowerCase().endsWith(`_${e}`));
    if (!fromName) throw fail("exchange", "no exchange column and the table name names no exchange");
    exchange = { constant: fromName };
    notes.push(`exchange taken from the table name (${fromName})`);
  }
  const ingestionTime = time(ing);
  if (ingestionTime.resolutionMs >= 1000)
    notes.push(
      `ingestion time ${ing.name} has one-second resolution (${ing.type}): lags below a second cannot be resolved ` +
        `from it`,
    );
  const finer = FINER_INGESTION.map((n) => byName.get(n)).find(
    (c) => c && c.name !== ing.name && isTime(c) && timeResolutionMs(c.type)! <= 1,
  );
  const finerIngestion = finer ? time(finer) : undefined;
  if (!seq) notes.push("no sequence column: loss cannot be checked by sequence continuity");
  const layer = /bronze/.test(table) ? "bronze" : /silver/.test(table) ? "silver" : "other";
  const overridden = (Object.keys(overrides) as Role[]).filter((r) => overrides[r]);
  return {
    table,
    layer,
    exchangeTime: time(ex),
    ingestionTime,
    finerIngestion,
    exchange,
    symbol: sym.name,
    sequence: seq ? seq.name : null,
    notes,
    ...(overridden.length ? { overridden } : {}),
  };
}

/** A table named like a trade table that holds no rows of its own (a view, a Kafka engine table): never measured. */
type NotMeasured = { table: string; engine: string };
export type Discovery = { mappings: Mapping[]; notMeasured: NotMeasured[] };

/** The trade tables of a database: configured, else bronze_trades_* and silver_trades. */
export async function discoverTradeTables(db: Db, database: string, config: K2Config): Promise<Mapping[]> {
  return (await discoverTables(db, database, config)).mappings;
}

/**
 * The trade tables, and the tables named like them that hold no rows. A deployed K2 schema keeps, beside
 * `bronze_trades_binance`, its materialized view `bronze_trades_binance_mv` (engine MaterializedView) and its Kafka
 * engine table `bronze_trades_binance_queue` (engine Kafka): only a MergeTree-family table holds trades to measure.
 */
export async function discoverTables(db: Db, database: string, config: K2Config): Promise<Discovery> {
  const cols = await db.query<ColumnInfo>(
    `SELECT table, name, type FROM system.columns WHERE database = ${sqlString(database)}`, // in definition order
  );
  const engines = new Map(
    (
      await db.query<{ name: string; engine: string }>(
        `SELECT name, engine FROM system.tables WHERE database = ${sqlString(database)}`,
      )
    ).map((t) => [t.name, t.engine]),
  );
  const tables = new Map<string, ColumnInfo[]>();
  for (const c of cols) (tables.get(c.table) ?? tables.set(c.table, []).get(c.table)!).push(c);
  if (tables.size === 0) {
    const dbs = (await db.query<{ name: string }>("SELECT name FROM system.databases")).map((d) => d.name);
    throw new K2Error(
      dbs.includes(database)
        ? `database ${database} has no tables: point CLICKHOUSE_DATABASE at the K2 database`
        : `unknown database ${database} (found: ${dbs.join(", ")}): set CLICKHOUSE_DATABASE`,
      EXIT.notFound,
    );
  }
  const named = [...tables.keys()].filter((t) => /^bronze_trades_|^silver_trades$/.test(t));
  const holdsRows = (t: string) => /MergeTree$/.test(engines.get(t) ?? "MergeTree");
  const notMeasured = named
    .filter((t) => !holdsRows(t))
    .map((t) => ({ table: `${database}.${t}`, engine: engines.get(t)! }));
  const wanted = config.discovery.tables ?? named.filter(holdsRows);
  if (wanted.length === 0)
    throw new K2Error(
      `no trade tables in ${database} (found: ${[...tables.keys()].join(", ")}); list them in discovery.tables in ` +
        `k2.config.json`,
      EXIT.notFound,
    );
  const mappings = wanted.map((t) => {
    const c = tables.get(short(t));
    if (!c)
      throw new K2Error(
        `unknown table ${database}.${short(t)} (found: ${[...tables.keys()].join(", ")}); fix discovery.tables in ` +
          `k2.config.json`,
        EXIT.notFound,
      );
    return mapTradeTable(
      `${database}.${short(t)}`,
      c,
      config.discovery.columns[short(t)] ?? config.discovery.columns[`${database}.${short(t)}`],
    );
  });
  return { mappings, notMeasured };
}

/** Discovery plus what the data says about each ingestion clock's resolution (see below). */
export async function discoverWithObservation(db: Db, database: string, config: K2Config): Promise<Mapping[]> {
  return observeClocks(db, await discoverTradeTables(db, database, config));
}

/** Each mapping's ingestion clocks sampled for the resolution their values show. */
export async function observeClocks(db: Db, mappings: Mapping[]): Promise<Mapping[]> {
  for (const m of mappings) {
    for (const t of [m.ingestionTime, m.finerIngestion])
      if (t)
        t.observedResolutionMs = await observedResolutionMs(db, m.table, t.column).catch((e) => {
          warnOnce(
            `could not sample ${m.table}.${t.column} for its resolution (${firstLine(e)}); using its type alone`,
          );
          return null;
        });
    const o = m.ingestionTime.observedResolutionMs;
    if (o && o > m.ingestionTime.resolutionMs)
      m.notes.push(
        `ingestion time ${m.ingestionTime.column} is typed ${m.ingestionTime.type} but every sampled value is a ` +
          `whole ${o >= 1000 ? "second" : "millisecond"}: it is copied from a coarser clock`,
      );
  }
  return mappings;
}

/**
 * The ingestion clock to measure lag with: the mapped one unless the data shows it coarser
 * than a finer sibling (and unless k2.config.json chose it explicitly).
 */
export function lagClock(mapping: Mapping): TimeColumn {
  if (mapping.overridden?.includes("ingestionTime")) return mapping.ingestionTime;
  return mapping.finerIngestion &&
    effectiveResolutionMs(mapping.finerIngestion) < effectiveResolutionMs(mapping.ingestionTime)
    ? mapping.finerIngestion
    : mapping.ingestionTime;
}

/**
 * The exchange of a row in SQL: its column, or the constant the table name gave (bronze_trades_binance -> 'binance').
 */
export const exchangeExpr = (mapping: Mapping) =>
  "constant" in mapping.exchange
    ? sqlString(mapping.exchange.constant)
    : `toString(${sqlIdent(mapping.exchange.column)})`;

/** The coarser of what the type allows and what the data shows. */
export const effectiveResolutionMs = (column: TimeColumn) =>
  Math.max(column.resolutionMs, column.observedResolutionMs ?? 0);

/**
 * What the data says about a time column's resolution, next to what its type says: silver's
 * ingestion_timestamp is DateTime64(6) but is copied from bronze's DateTime, so every value
 * is a whole second. Looks at up to `sample` rows; returns null when there are too few.
 */
async function observedResolutionMs(db: Db, table: string, column: string, sample = 100_000): Promise<number | null> {
  const [r] = await db.query<{ n: number; sub_s: number; sub_ms: number }>(
    `SELECT count() AS n, countIf(us % 1000000 != 0) AS sub_s, countIf(us % 1000 != 0) AS sub_ms
     FROM (SELECT toUnixTimestamp64Micro(toDateTime64(\`${column}\`, 6)) AS us FROM ${table} LIMIT ${sample})`,
  );
  if (!r || Number(r.n) < 20) return null;
  return Number(r.sub_s) === 0 ? 1000 : Number(r.sub_ms) === 0 ? 1 : 0.001;
}

function short(table: string) {
  return table.includes(".") ? table.slice(table.indexOf(".") + 1) : table;
}

/** The silver trades table among the discovered ones; the error names what was found and the fix. */
export function silverOf(mappings: Mapping[]): Mapping {
  const s = mappings.find((m) => m.layer === "silver");
  if (!s)
    throw new K2Error(
      `no silver trades table was discovered (found ${mappings.map((m) => m.table).join(", ")}); add it to ` +
        `discovery.tables in k2.config.json`,
      EXIT.notFound,
    );
  return s;
}

/** The rows of a table whose exchange time lies in the window. */
export const inWindow = (mapping: Mapping, w: { fromMs: number; toMs: number }) =>
  `${sqlIdent(mapping.exchangeTime.column)} >= ${sqlTimeMs(w.fromMs)} AND ${sqlIdent(mapping.exchangeTime.column)} < ` +
  `${sqlTimeMs(Math.ceil(w.toMs))}`;

/** A clock resolution as the reports write it: "1 s", "1 ms", "1 µs". */
export const formatResolution = (ms: number) =>
  ms >= 1000 ? `${ms / 1000} s` : ms >= 1 ? `${ms} ms` : `${ms * 1000} µs`;

/** A time column with its resolution by type and, where sampled, as seen in the data. */
export const clockLabel = (timeColumn: TimeColumn) =>
  `${timeColumn.column} (${formatResolution(timeColumn.resolutionMs)} by type` +
  (timeColumn.observedResolutionMs ? `, ${formatResolution(timeColumn.observedResolutionMs)} in data` : "") +
  ")";
