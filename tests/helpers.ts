// Real engines for the tests: the embedded engine (one per process, so one folder for the
// whole `bun test` run), Debian's clickhouse-server started on loopback, and the CLI run
// as a user runs it, in a subprocess with its own data/ and out/ folders.

import { expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectClickHouse, type Target } from "../lib/io/clickhouse.ts";
import { ensureEngine } from "../lib/io/engine.ts";
import { bin, isInstalled, missingLine } from "../lib/io/packages.ts";
import { freePort } from "../lib/io/ports.ts";
import { ROOT } from "../lib/runtime/paths.ts";

export const tempDir = (prefix = "k2-test-") => mkdtempSync(join(tmpdir(), prefix));

let engine: Promise<Target> | undefined;
export const ENGINE_PATH = join(tmpdir(), `k2-test-engine-${process.pid}`);
/** The process's embedded engine, shared by every test file in this `bun test` run. */
export function testEngine(): Promise<Target> {
  return (engine ??= connectClickHouse({ kind: "embedded", path: ENGINE_PATH, database: "k2", lab: true }));
}
// Open it as soon as any test file loads this module: whichever file runs first, the process's
// one engine is this folder, and readers of stored runs (localEngine) reuse it.
void testEngine();

export type Cli = { code: number; stdout: string; stderr: string };
/** Run a project command as a user would: `bun <file> <args>` with the given environment. */
export async function runCli(file: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Cli> {
  const base = { ...process.env };
  delete base.CLICKHOUSE_URL;
  delete base.CLICKHOUSE_PASSWORD;
  delete base.CLICKHOUSE_USER;
  delete base.CLICKHOUSE_DATABASE;
  const proc = Bun.spawn([process.execPath, join(ROOT, file), ...args], {
    cwd: ROOT,
    env: { ...base, CI: "1", ...env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}

export type ClickHouseServer = { url: string; password: string; stop(): Promise<void> };

/**
 * Debian's clickhouse-server (18.16: HTTP, users, system tables; no DateTime64 or Parquet)
 * on a loopback port, with a password, in a temporary folder. It stands in for a K2
 * ClickHouse where the test is about the HTTP path: login, databases, tables, discovery.
 */
export async function startClickHouseServer(password = "k2-Test-Secret-42"): Promise<ClickHouseServer> {
  if (!isInstalled("clickhouseServer")) throw new Error(missingLine(["clickhouseServer"]));
  const dir = tempDir("k2-chs-");
  const [port, tcp] = [freePort(), freePort()];
  for (const d of ["data", "tmp", "user_files"]) mkdirSync(join(dir, d));
  writeFileSync(
    join(dir, "config.xml"),
    `<?xml version="1.0"?><yandex>
  <logger><level>error</level><console>1</console></logger>
  <http_port>${port}</http_port><tcp_port>${tcp}</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path><tmp_path>${dir}/tmp/</tmp_path><user_files_path>${dir}/user_files/</user_files_path>
  <users_config>users.xml</users_config><default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size></yandex>`,
  );
  writeFileSync(
    join(dir, "users.xml"),
    `<?xml version="1.0"?><yandex><profiles><default></default></profiles>
  <users><default><password>${password}</password><networks><ip>127.0.0.1</ip></networks>
  <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas></yandex>`,
  );
  const proc = Bun.spawn([bin("clickhouseServer"), `--config-file=${join(dir, "config.xml")}`], {
    cwd: dir,
    stdout: "ignore",
    stderr: "pipe",
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok)
      return {
        url,
        password,
        stop: async () => {
          proc.kill("SIGKILL");
          await proc.exited;
        },
      };
    if (proc.exitCode !== null) throw new Error(`clickhouse-server exited: ${await new Response(proc.stderr).text()}`);
    await Bun.sleep(100);
  }
  proc.kill();
  throw new Error("clickhouse-server did not answer /ping within 10 s");
}

/** No stray temporary or partial files under a folder (the atomic-write promise). */
export function strayFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const glob = new Bun.Glob("**/{.*.tmp,.*.partial,.*.partial/**}");
  return [...glob.scanSync({ cwd: dir, dot: true, onlyFiles: false })];
}

/**
 * A Docker engine for the tests: the one at DOCKER_HOST (or the default socket) if it answers, else the lab's private
 * engine, started as the main job starts it (lib/io/engine.ts). Left running for the next test file.
 */
export async function ensureDockerEngine(): Promise<string> {
  const e = await ensureEngine();
  if ("unavailable" in e) throw new Error(e.unavailable);
  return e.host;
}

/**
 * Prefect cannot be installed here (it comes from PyPI), so the Prefect API is a loopback
 * fixture serving recorded flow-run responses (tests/fixtures/prefect-flow-runs.json), with
 * their times re-anchored to now. It answers only the deployment the recording is of.
 */
export function startPrefectFixture(recording: "healthy" | "failing") {
  const runs = JSON.parse(readFileSync(join(import.meta.dir, "fixtures", "prefect-flow-runs.json"), "utf8"))[
    recording
  ] as Record<string, unknown>[];
  const at = (min: unknown) => (typeof min === "number" ? new Date(Date.now() - min * 60_000).toISOString() : null);
  const requests: unknown[] = [];
  const started: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      // a run started by hand: the deployment by flow/name, then a flow run created for it (Prefect's REST API)
      if (req.method === "GET" && url.pathname === "/api/deployments/name/iceberg-offload-main/iceberg-offload-15min")
        return Response.json({ id: "0d1e-offload", name: "iceberg-offload-15min" });
      if (req.method === "POST" && url.pathname === "/api/deployments/0d1e-offload/create_flow_run") {
        started.push(await req.text());
        return Response.json({
          id: `run-${started.length}`,
          name: `quick-run-${started.length}`,
          state_type: "SCHEDULED",
        });
      }
      if (req.method !== "POST" || url.pathname !== "/api/flow_runs/filter")
        return new Response("Not Found", { status: 404 });
      const body = (await req.json()) as any;
      requests.push(body);
      if (!body?.deployments?.name?.any_?.includes("iceberg-offload-15min")) return Response.json([]);
      return Response.json(
        runs.map((r) => ({
          ...r,
          expected_start_time: at(r.expected_start_time),
          start_time: at(r.start_time),
          end_time: at(r.end_time),
        })),
      );
    },
  });
  return { url: `http://127.0.0.1:${server.port}/api`, requests, started, stop: () => server.stop(true) };
}

/**
 * A unix-socket relay in front of a real Docker engine: closing it makes the engine vanish
 * from a client's view (connections cut, socket gone) and reopening brings it back, as when
 * dockerd restarts under a long-running sampler. `cutReply(path)`: the next request for that
 * path reaches the engine and is carried out, but its reply is dropped with the connection.
 * The engine itself is untouched.
 */
export async function engineRelay(upstream: string, path = join(tempDir("k2-relay-"), "docker.sock")) {
  const net = await import("node:net");
  const { rmSync } = await import("node:fs");
  let server: import("node:net").Server | undefined;
  const open = new Set<import("node:net").Socket>();
  let cut: string | undefined;
  const up = () =>
    new Promise<void>((done) => {
      rmSync(path, { force: true });
      server = net.createServer((client) => {
        const engine = net.connect(upstream.replace("unix://", ""));
        for (const s of [client, engine]) {
          open.add(s);
          s.on("close", () => open.delete(s)).on("error", () => {});
        }
        client.pipe(engine).pipe(client);
        client.on("data", (d: Buffer) => {
          if (!cut || !d.toString("latin1").includes(cut)) return;
          cut = undefined;
          engine.unpipe(client);
          engine
            .once("data", () => {
              client.destroy();
              engine.destroy();
            })
            .resume(); // unpipe paused it
        });
      });
      server.listen(path, done);
    });
  const down = () =>
    new Promise<void>((done) => {
      for (const s of open) s.destroy();
      server!.close(() => {
        rmSync(path, { force: true });
        done();
      });
    });
  await up();
  return { host: `unix://${path}`, up, down, cutReply: (path: string) => void (cut = path) };
}

/** Plot's generated class names numbered in order of appearance, and long decimals cut to two places. */
export const normalise = (s: string) => {
  const ids = new Map<string, string>();
  return (
    s
      .replace(/plot-[0-9a-f]{6}/g, (m) => (ids.get(m) ?? ids.set(m, `plot-${ids.size + 1}`).get(m))!)
      // Plot offsets its axes by 0.5 px or not depending on globals another test file may have set
      .replace(/ transform="translate\([-\d.]+,[-\d.]+\)"/g, "")
      .replace(/(\d+\.\d{2})\d+/g, "$1")
  );
};

/** Compare with the stored snapshot; on a difference write <name>-changed beside it for review. */
export function matchSnapshot(name: string, actual: string) {
  const path = join(import.meta.dir, "snapshots", name),
    changed = `${path}-changed`;
  if (!existsSync(path)) writeFileSync(path, actual);
  const expected = readFileSync(path, "utf8");
  if (expected !== actual) writeFileSync(changed, actual);
  else rmSync(changed, { force: true });
  expect(actual === expected ? "same" : `differs: review ${changed}`).toBe("same");
}

/** One pattern from several regex literals, to wrap a long expected message: re(/^a /, /b$/) is /^a b$/. */
export const re = (...parts: (RegExp | string)[]) =>
  new RegExp(
    parts
      .filter((p) => p instanceof RegExp)
      .map((p) => (p as RegExp).source)
      .join(""),
    parts.find((p): p is string => typeof p === "string"),
  );
