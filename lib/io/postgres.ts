// Debian's PostgreSQL, started on loopback for whoever needs a Prefect DB of its own: the lab (its offload writes
// its watermarks there, as K2's writes the Prefect DB's) and the tests. A private cluster in a temporary folder, a
// random port, password login; run as the postgres user when we are root (PostgreSQL refuses to run as root).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { EXIT, K2Error, registerSecret } from "../runtime/errors.ts";
import { bin, isInstalled, missingLine } from "./packages.ts";
import { freePort, PORT_TAKEN } from "./ports.ts";

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
  const port = await startOnFreePort(dir, (opts) =>
    run("start", [bin("pg_ctl"), "-D", data, "-w", "-l", join(dir, "log"), "-o", opts, "start"]),
  );
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

/** pg_ctl start on a free port (lib/io/ports.ts), again on a new one if its log says it was taken. */
async function startOnFreePort(dir: string, start: (opts: string) => Promise<void>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    try {
      await start(`-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`);
      return port;
    } catch (e) {
      const log = existsSync(join(dir, "log")) ? readFileSync(join(dir, "log"), "utf8") : "";
      if (attempt < 5 && PORT_TAKEN.test(log)) continue;
      rmSync(dir, { recursive: true, force: true });
      const last = log.trim().split("\n").at(-1);
      throw last ? new K2Error(`PostgreSQL start failed: ${last}`, EXIT.unreachable) : e;
    }
  }
}
