// Stored runs: data/<notebook>/<run-id>/ holds the fetched datasets (Parquet, JSON) and
// manifest.json. A run is assembled in a hidden .partial folder and renamed into place
// when complete, so a failed run leaves nothing a reader could mistake for data. Any
// notebook can open any other notebook's runs (the later steps read the earlier ones).

import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { localEngine, type Row, sqlString, type Target } from "../io/clickhouse.ts";
import { EXIT, firstLine, K2Error } from "./errors.ts";
import { writeAtomic } from "./fsx.ts";
import { dataDir } from "./paths.ts";

/** What every notebook's fetch returns; a notebook narrows it to its own typed record. */
export type Fetched = {
  parameters: object;
  target: { kind: string; label: string; version?: string } | null;
  window?: { from: string; to: string };
  notes?: string[];
};

/**
 * The stored-run format this version writes and reads. Bump it when a notebook's stored record changes in a way older
 * readers would mis-read; runs without it are format 1 (read: every reader accepts their missing fields).
 */
export const STORE_FORMAT = 2;

/** What the store adds around a fetched record. */
export type Stored = {
  notebook: string;
  format?: number;
  runId: string;
  title: string;
  createdAt: string;
  versions: Record<string, string>;
  datasets: Record<string, { file: string; bytes: number; rows?: number }>;
};

/** A stored run's manifest.json: the store's fields plus the notebook's typed fetched record. */
export type Manifest<F extends Fetched = Fetched> = Stored & F;

/** What a run measured: the lab (its engine, containers or Prometheus), a stack, or only files it generated. */
export type Measured = "lab" | "stack" | "files";

/**
 * Read from the manifest: generated files (target kind "files"); the lab when a parameter says so (burn-in's
 * `lab: true`, live fire's `mode: "lab"`) or the engine is the lab's folder (".../data/lab-engine",
 * ".../lab-engine-04-live-fire"); otherwise a stack.
 */
function measuredOn(fetched: Fetched): Measured {
  if (fetched.target?.kind === "files") return "files";
  const p: { lab?: unknown; mode?: unknown } = fetched.parameters;
  if (p.mode === "live") return "stack";
  if (p.lab === true || p.mode === "lab") return "lab";
  return /\/lab-engine(-[a-z0-9-]+)?$/.test(fetched.target?.label ?? "") ? "lab" : "stack";
}

/** Which stored run a step summary speaks for. */
export const runIdentity = (manifest: Manifest) => ({
  notebook: manifest.notebook,
  runId: manifest.runId,
  createdAt: manifest.createdAt,
  target: manifest.target?.label ?? "none",
  targetKind: manifest.target?.kind ?? "none",
  measured: measuredOn(manifest),
});

export const newRunId = (d = new Date()) =>
  `${d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${Math.random().toString(16).slice(2, 6)}`;

export class RunWriter {
  readonly dir: string;
  readonly datasets: Stored["datasets"] = {};
  constructor(
    readonly notebook: string,
    readonly runId: string,
  ) {
    this.dir = join(dataDir(), notebook, `.${runId}.partial`);
  }
  async open() {
    await mkdir(this.dir, { recursive: true });
    return this;
  }

  /** Stream a query's result to <name>.parquet; the engine writes the Parquet. */
  async saveQuery(target: Target, name: string, sql: string) {
    const file = `${name}.parquet`;
    const { bytes } = await target.exportParquet(sql, join(this.dir, file));
    this.datasets[name] = { file, bytes };
  }
  async saveJson(name: string, value: unknown) {
    const file = `${name}.json`,
      text = JSON.stringify(value, null, 1);
    await writeAtomic(join(this.dir, file), text);
    this.datasets[name] = { file, bytes: text.length };
  }
  async commit(manifest: Omit<Manifest, "datasets" | "runId" | "notebook">): Promise<string> {
    await writeAtomic(
      join(this.dir, "manifest.json"),
      JSON.stringify(
        { notebook: this.notebook, format: STORE_FORMAT, runId: this.runId, ...manifest, datasets: this.datasets },
        null,
        2,
      ),
    );
    const final = join(dataDir(), this.notebook, this.runId);
    await rename(this.dir, final);
    return final;
  }
  async discard() {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A run written in place rather than assembled and renamed: for long work (a 24 h burn-in)
 * whose data must be durable as it accrues. Its manifest is written at the start (status
 * "running") and rewritten at the end, so the run is listed, resumable and renderable meanwhile.
 */
export async function openLiveRun(notebook: string, runId: string): Promise<string> {
  const dir = join(dataDir(), notebook, runId);
  await mkdir(dir, { recursive: true });
  return dir;
}
export async function writeManifest<F extends Fetched>(dir: string, manifest: Manifest<F>) {
  await writeAtomic(join(dir, "manifest.json"), JSON.stringify({ format: STORE_FORMAT, ...manifest }, null, 2));
}

/** Runs of a notebook, oldest first (ids sort by time). */
export async function listRuns(notebook: string): Promise<string[]> {
  const dir = join(dataDir(), notebook);
  if (!existsSync(dir)) return [];
  const names = (await readdir(dir)).filter((n) => !n.startsWith(".") && existsSync(join(dir, n, "manifest.json")));
  return names.sort();
}

export async function openRun<F extends Fetched = Fetched>(notebook: string, id: string): Promise<RunData<F>> {
  // Accepted: a run id (a folder under data/<notebook>/), "latest", or "latest~1" for the one before it.
  if (!/^[\w.-]+$/.test(id) && !/^latest~\d+$/.test(id))
    throw new K2Error(
      `invalid run id: ${JSON.stringify(id)} (expected a folder name under data/${notebook}/, latest or latest~1)`,
    );
  const runs = await listRuns(notebook);
  const back = /^latest(?:~(\d+))?$/.exec(id);
  const runId = back ? runs[runs.length - 1 - Number(back[1] ?? 0)] : runs.includes(id) ? id : undefined;
  if (!runId)
    throw new K2Error(
      runs.length
        ? `unknown run id ${id} for ${notebook} (latest is ${runs.at(-1)}; ${runs.length} stored in data/${notebook}/)`
        : `no stored runs for ${notebook} in data/${notebook}/: run the notebook without --from first`,
      EXIT.notFound,
    );
  const dir = join(dataDir(), notebook, runId);
  let manifest: Manifest<F>;
  try {
    manifest = await Bun.file(join(dir, "manifest.json")).json();
  } catch (e) {
    throw new K2Error(
      `corrupt manifest data/${notebook}/${runId}/manifest.json (${firstLine(e)}): delete the run and fetch again`,
      EXIT.data,
    );
  }
  return new RunData<F>(dir, { ...manifest, runId }); // the folder's name is the id (a copied run keeps its own)
}

// Engine error types that mean a stored file is damaged (the user's to fix), not a bad query.
const DAMAGED_FILE = new RegExp(
  [
    "INCORRECT_DATA|CANNOT_READ|CANNOT_PARSE|CANNOT_EXTRACT_TABLE_STRUCTURE",
    "UNKNOWN_FORMAT|FILE_DOESNT_EXIST|CANNOT_OPEN_FILE",
  ].join("|"),
);

/** A stored run, read back through the in-process engine: no ClickHouse server, no Docker. */
export class RunData<F extends Fetched = Fetched> {
  constructor(
    readonly dir: string,
    readonly manifest: Manifest<F>,
  ) {}
  path(name: string): string {
    const d = this.manifest.datasets[name];
    if (!d)
      throw new K2Error(
        `run ${this.manifest.runId} has no dataset ${name} (has: ${Object.keys(this.manifest.datasets).join(", ")})`,
        EXIT.data,
      );
    return join(this.dir, d.file);
  }
  /**
   * Run SQL over stored datasets: `{name}` stands for the dataset's Parquet file.
   *   await run.query("SELECT exchange, count() FROM {lags} GROUP BY exchange")
   */
  async query<T = Row>(sql: string): Promise<T[]> {
    const format = (p: string) => (p.endsWith(".csv") ? "CSVWithNames" : "Parquet");
    const text = sql.replace(/\{(\w+)\}/g, (_, n) => `file(${sqlString(this.path(n))}, ${format(this.path(n))})`);
    try {
      const rs = await localEngine().query({ query: text, format: "JSONEachRow" });
      return (await rs.json()) as T[];
    } catch (e) {
      // A damaged file is the user's to fix; any other engine error is a bug in the query.
      const type = (e as { type?: string }).type ?? "";
      if (!DAMAGED_FILE.test(type)) throw e;
      const files = [...sql.matchAll(/\{(\w+)\}/g)].map((m) => this.manifest.datasets[m[1]!]?.file).join(", ");
      throw new K2Error(
        `cannot read ${files} in ${this.dir} (${firstLine(e)}): the file is corrupt or truncated; re-run the ` +
          `notebook without --from to fetch again`,
        EXIT.data,
      );
    }
  }
  rows<T = Row>(name: string): Promise<T[]> {
    return this.query<T>(`SELECT * FROM {${name}}`);
  }
  async json<T = unknown>(name: string): Promise<T> {
    try {
      return await Bun.file(this.path(name)).json();
    } catch (e) {
      if (e instanceof K2Error) throw e;
      throw new K2Error(
        `cannot read ${this.path(name)} (${firstLine(e)}): re-run the notebook without --from`,
        EXIT.data,
      );
    }
  }
  async size(name: string) {
    return (await stat(this.path(name))).size;
  }
}
