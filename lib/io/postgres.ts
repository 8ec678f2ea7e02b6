// Debian's PostgreSQL, started on loopback for whoever needs a Prefect DB of its own: the lab (its offload writes
// its watermarks there, as K2's writes the Prefect DB's) and the tests. A private cluster in a temporary folder, a
// free port, password login; run as the postgres user when we are root (PostgreSQL refuses to run as root).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { EXIT, K2Error, registerSecret } from "../runtime/errors.ts";
import { bin, isInstalled, missingLine } from "./packages.ts";
import { onFreePort, PORT_TAKEN } from "./ports.ts";

export type Postgres = { url: string; stop(): Promise<void> };

/** The database K2's Prefect DB is named by (POSTGRES_DB in compose); the lab's cluster has one of that name too. */
const DB = "prefect";

export async function startPostgres(password = crypto.randomUUID()): Promise<Postgres> {
  if (!isInstalled("postgres")) throw new K2Error(missingLine(["postgres"]), EXIT.notFound);
  registerSecret(password);
  const dir = mkdtempSync(join(tmpdir(), "k2-pg-"));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, "pw"), password);
  const root = process.getuid?.() === 0;
  const as = (cmd: string[]) => (root ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);
  if (root) Bun.spawnSync(["chown", "-R", "postgres", dir]);
  // spawned, not spawnSync: initdb takes a couple of seconds, which the lab spends starting its traffic meanwhile
  const run = async (what: string, cmd: string[]) => {
    const p = Bun.spawn(as(cmd), { stderr: "pipe", stdout: "ignore" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new K2Error(`PostgreSQL ${what} failed: ${err.trim()}`, EXIT.unreachable);
  };
  const data = join(dir, "data");
  await run("initdb", [
    bin("initdb"),
    "-D",
    data,
    "-U",
    "prefect",
    "-A",
    "scram-sha-256",
    `--pwfile=${join(dir, "pw")}`,
  ]);
  rmSync(join(dir, "pw"));
  // a log per port tried: whether the port was taken is in the log of that try
  const logOf = (port: number) => join(dir, `log-${port}`);
  const readLog = (port: number) => (existsSync(logOf(port)) ? readFileSync(logOf(port), "utf8") : "");
  const port = await onFreePort(
    async (port) => {
      const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
      await run("start", [bin("pg_ctl"), "-D", data, "-w", "-l", logOf(port), "-o", opts, "start"]).catch((e) => {
        const last = readLog(port).trim().split("\n").at(-1);
        throw last ? new K2Error(`PostgreSQL start failed: ${last}`, EXIT.unreachable) : e;
      });
      return port;
    },
    (_, port) => PORT_TAKEN.test(readLog(port)),
    5,
  ).catch((e) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const stop = async () => {
    Bun.spawnSync(as([bin("pg_ctl"), "-D", data, "-m", "immediate", "stop"]), { stdout: "ignore", stderr: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  const admin = `postgres://prefect:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const sql = new SQL(admin, { max: 1 });
  try {
    await sql.unsafe(`CREATE DATABASE ${DB}`);
  } catch (e) {
    await stop();
    throw e;
  } finally {
    await sql.close();
  }
  return { url: `postgres://prefect:${encodeURIComponent(password)}@127.0.0.1:${port}/${DB}`, stop };
}
