// ClickHouse access, one code path for both targets. `connectClickHouse()` returns a Target
// wrapping an @clickhouse/client instance: over HTTP to a server when CLICKHOUSE_URL is
// http(s)://..., or on the embedded engine (chdb) when it is unset or chdb://<path>.
// Notebooks only see `query`, `command`, `insert` and `exportParquet`.
//
// The embedded engine is a process singleton bound to one folder: the first embedded
// connection decides it, a request for another folder is refused, and `localEngine()`
// (used to read stored Parquet back) reuses whatever is open.

import { existsSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  ClickHouseLogLevel,
  createClient,
} from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { EXIT, firstLine, K2Error, registerSecret } from "../runtime/errors.ts";
import { produceAtomic } from "../runtime/fsx.ts";
import { defaultEnginePath, ROOT } from "../runtime/paths.ts";

export type TargetSpec =
  | { kind: "server"; url: string; user: string; password: string; database: string }
  // lab: the lab's own engine folder (data/lab-engine), the only embedded folder the lab may reset and fill
  | { kind: "embedded"; path: string; database: string; lab: boolean };

/** The lab's own engine folder. Any other target, a server or another embedded folder, is a stack: read, not reset. */
export const isLab = (spec: TargetSpec) => spec.kind === "embedded" && spec.lab;

export type Row = Record<string, any>;
/** The small interface analysis and discovery code take: notebooks pass a Target, tests pass rows. */
export type Db = { query<T = Row>(sql: string): Promise<T[]> };

/**
 * Read the target from the environment (Bun loads `.env` itself, the K2 convention).
 *   CLICKHOUSE_URL unset            -> embedded engine at data/lab-engine
 *   CLICKHOUSE_URL=chdb://data/x    -> embedded engine at ./data/x (relative to the project)
 *   CLICKHOUSE_URL=http://host:8123 -> server, CLICKHOUSE_USER / CLICKHOUSE_PASSWORD
 */
export function targetFromEnv(env: Record<string, string | undefined> = process.env): TargetSpec {
  const url = env.CLICKHOUSE_URL?.trim();
  const database = env.CLICKHOUSE_DATABASE?.trim() || "k2";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database))
    throw new K2Error(`invalid CLICKHOUSE_DATABASE: ${JSON.stringify(database)} (a plain identifier such as k2)`);
  if (!url) return { kind: "embedded", path: defaultEnginePath(), database, lab: true };
  if (url.startsWith("chdb://")) {
    const p = url.slice("chdb://".length);
    const path = p ? resolve(ROOT, p) : defaultEnginePath();
    return { kind: "embedded", path, database, lab: path === defaultEnginePath() };
  }
  if (!/^https?:\/\/[^\s/]+/.test(url))
    throw new K2Error(
      `invalid CLICKHOUSE_URL: ${JSON.stringify(url.replace(/:[^:@/]*@/, ":***@"))} (expected http://host:8123 or ` +
        `chdb://<path>)`,
    );
  const password = env.CLICKHOUSE_PASSWORD ?? "";
  registerSecret(password);
  return { kind: "server", url, user: env.CLICKHOUSE_USER?.trim() || "default", password, database };
}

/** Where a target points, safe to print and store (never the password). */
export function describeTarget(spec: TargetSpec): string {
  return spec.kind === "server"
    ? `${spec.url.replace(/\/\/[^@/]*@/, "//")} as ${spec.user}`
    : `embedded chdb at ${spec.path}`;
}

let embedded: { path: string; client: ClickHouseClient } | undefined;

function embeddedClient(path: string): ClickHouseClient {
  if (embedded) {
    if (embedded.path !== path)
      throw new K2Error(
        `the embedded engine is already open at ${embedded.path}; one engine per process (asked for ${path})`,
      );
    return embedded.client;
  }
  const connection = createChdbConnection({ path });
  // chdb types its connection against its own copy of @clickhouse/client-common; the shape is the client's
  const client = createClient({ connection: connection as unknown as ClickHouseClientConfigOptions["connection"] });
  // at exit, not before: one engine per process. Closing it removes the scratch folder chdb makes in the temporary
  // directory for ":memory:" (chdb-node-mem-*), which a render with --from would otherwise leave behind.
  process.once("exit", () => void connection.close());
  embedded = { path, client };
  return client;
}

/** The engine refuses a folder another process holds ("Cannot lock file .../status"): one line saying so. */
function openEmbedded(path: string): ClickHouseClient {
  try {
    return embeddedClient(path);
  } catch (e) {
    if (e instanceof K2Error) throw e;
    const cause = String((e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message);
    if (/Cannot lock file|already running/.test(cause))
      throw new K2Error(
        `the embedded engine at ${path} is in use by another process (a notebook or the exporter): wait for it or ` +
          "stop it",
        EXIT.unreachable,
      );
    throw new K2Error(`cannot open the embedded engine at ${path}: ${firstLine(cause)}`, EXIT.unreachable);
  }
}

/** An embedded engine for reading stored files: the one already open, else a scratch one. */
export function localEngine(): ClickHouseClient {
  return embedded?.client ?? embeddedClient(":memory:");
}

// The engine buffers a whole Parquet row group before writing it; the default of 1M rows
// made peak memory grow with the export (777 MB at 1M rows, 1.2 GB at 10M). 100k-row groups
// keep it flat (measured by `bun run bench`).
const PARQUET_SETTINGS = { output_format_parquet_row_group_size: "100000" } as const;

export class Target implements Db {
  constructor(
    readonly spec: TargetSpec,
    readonly client: ClickHouseClient,
    readonly version: string,
  ) {}
  get kind() {
    return this.spec.kind;
  }
  get database() {
    return this.spec.database;
  }
  get label() {
    return describeTarget(this.spec);
  }
  /** The embedded engine has no system.query_log; a server does (when enabled). */
  get hasQueryLog() {
    return this.spec.kind === "server";
  }

  async query<T = Row>(sql: string): Promise<T[]> {
    try {
      const rs = await this.client.query({ query: sql, format: "JSONEachRow" });
      return (await rs.json()) as T[];
    } catch (e) {
      throw clickhouseError(e, this.spec);
    }
  }
  async command(sql: string): Promise<void> {
    try {
      await this.client.command({ query: sql });
    } catch (e) {
      throw clickhouseError(e, this.spec);
    }
  }
  async insert(table: string, values: Row[]): Promise<void> {
    if (values.length === 0) return;
    try {
      await this.client.insert({ table, values, format: "JSONEachRow" });
    } catch (e) {
      throw clickhouseError(e, this.spec);
    }
  }

  /**
   * Write the result of `sql` to a local Parquet file, produced by the engine itself.
   * `via: "engine"` (embedded default) lets the engine write the file (INTO OUTFILE);
   * `via: "client"` (server default) streams the Parquet bytes through the client to disk
   * chunk by chunk. Either way memory stays flat as rows grow, except `client` on the
   * embedded engine, whose connection buffers whole results (measured in `bun run bench`).
   */
  async exportParquet(
    sql: string,
    path: string,
    via: "engine" | "client" = this.kind === "embedded" ? "engine" : "client",
  ) {
    await produceAtomic(path, async (tmp) => {
      try {
        if (via === "engine") {
          if (this.kind !== "embedded")
            throw new K2Error("INTO OUTFILE writes on the server's disk; export from a server with via=client");
          await this.client.command({
            query: `${sql} INTO OUTFILE ${sqlString(tmp)} TRUNCATE FORMAT Parquet`,
            clickhouse_settings: PARQUET_SETTINGS,
          });
        } else {
          const rs = await this.client.exec({ query: `${sql} FORMAT Parquet`, clickhouse_settings: PARQUET_SETTINGS });
          const sink = Bun.file(tmp).writer({ highWaterMark: 1 << 20 });
          for await (const chunk of rs.stream as AsyncIterable<Uint8Array>) sink.write(chunk);
          await sink.end();
        }
      } catch (e) {
        throw e instanceof K2Error ? e : clickhouseError(e, this.spec);
      }
    });
    return { path, bytes: (await stat(path)).size };
  }

  async close() {
    if (this.kind === "server") await this.client.close();
    // the embedded engine stays with the process (one per process; closed at exit)
  }
}

export async function connectClickHouse(spec: TargetSpec = targetFromEnv()): Promise<Target> {
  if (spec.kind === "embedded" && !spec.lab) requireEngineFolder(spec.path);
  const client =
    spec.kind === "embedded"
      ? openEmbedded(spec.path)
      : createClient({
          url: spec.url,
          username: spec.user,
          password: spec.password,
          request_timeout: 30_000,
          // errors are reported once, by us, as one line; the client's own logger would repeat them with stacks
          log: { level: ClickHouseLogLevel.OFF },
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        });
  try {
    const rs = await client.query({ query: "SELECT version() AS v", format: "JSONEachRow" });
    const [row] = (await rs.json()) as { v: string }[];
    return new Target(spec, client, row!.v);
  } catch (e) {
    if (spec.kind === "server") await client.close().catch(() => {}); // the connect error below is the one to report
    throw clickhouseError(e, spec);
  }
}

/**
 * A user's embedded folder is opened only if it already is an engine folder (a directory with the engine's metadata/):
 * opening anything else would create one there, or fail deep inside the engine (a file such as /etc/passwd).
 */
function requireEngineFolder(path: string) {
  const fix = "point CLICKHOUSE_URL=chdb://<folder> at an existing engine folder, or unset it for the lab";
  if (!existsSync(path)) throw new K2Error(`no engine folder at ${path}: ${fix}`, EXIT.notFound);
  if (!statSync(path).isDirectory() || !existsSync(join(path, "metadata")))
    throw new K2Error(`${path} is not an embedded engine folder (no metadata/ inside): ${fix}`, EXIT.notFound);
}

/** Translate what the client throws into one line that names the problem and the fix. */
function clickhouseError(e: unknown, spec: TargetSpec): K2Error {
  if (e instanceof K2Error) return e;
  const err = e as { code?: string; type?: string };
  const where = describeTarget(spec);
  // Servers before 20.x say "Code: 60, e.displayText() = DB::Exception: ..., e.what() = ..."
  const msg = firstLine(e)
    .replace(/e\.displayText\(\) = (DB::Exception: )?/, "")
    .replace(/, e\.what\(\) = .*$/, "");
  const code = Number(/^\d+$/.test(err.code ?? "") ? err.code : (/Code: (\d+)/.exec(msg)?.[1] ?? NaN));
  const net = new RegExp(
    [
      "ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|socket hang up",
      "Timeout error|Unable to connect|ConnectionRefused|FailedToOpenSocket",
    ].join("|"),
    "i",
  );
  if (net.test(`${err.code ?? ""} ${msg}`))
    return new K2Error(
      `ClickHouse not reachable at ${where} (${msg}): start it or fix CLICKHOUSE_URL in .env`,
      EXIT.unreachable,
    );
  if ([192, 193, 516].includes(code) || /Authentication failed|password is incorrect|Wrong password/i.test(msg))
    return new K2Error(
      `ClickHouse refused the login at ${where}: wrong user or password; set CLICKHOUSE_USER / CLICKHOUSE_PASSWORD ` +
        `in .env`,
      EXIT.unreachable,
    );
  if (code === 81)
    return new K2Error(
      `unknown database at ${where} (${msg}): set CLICKHOUSE_DATABASE to an existing database`,
      EXIT.notFound,
    );
  if (code === 60)
    return new K2Error(
      `unknown table at ${where} (${msg}): check the table name, or discovery.tables in k2.config.json`,
      EXIT.notFound,
    );
  if (code === 73)
    return new K2Error(
      `the ClickHouse at ${where} cannot write that format (${msg}): Parquet export needs ClickHouse 20.x or later`,
      EXIT.data,
    );
  return new K2Error(`ClickHouse error at ${where}: ${msg}`, EXIT.data);
}

/** A single-quoted SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
/** A point in time, ms since the epoch, as a DateTime64(3) expression. */
export const sqlTimeMs = (ms: number) => `fromUnixTimestamp64Milli(toInt64(${Math.floor(ms)}))`;
/** A backquoted identifier, for names that come from discovery or config. */
export function sqlIdent(s: string): string {
  return "`" + s.replace(/`/g, "``") + "`";
}
