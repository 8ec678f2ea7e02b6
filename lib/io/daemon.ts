// A Debian daemon (prometheus, alertmanager) for the code and tests that need a real one: started on 127.0.0.1 at a
// free port in a temporary folder holding its files, ready when its /-/ready answers, and stopped (the folder
// removed) by the caller. One clear line when it is missing or does not start.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { bin, isInstalled, missingLine, type NeedName } from "./packages.ts";
import { onFreePort, PORT_TAKEN } from "./ports.ts";

export type RunningDaemon = { url: string; dir: string; stop(): Promise<void> };
export type DaemonSpec = {
  name: string;
  /** the binary, from the one list of Debian packages */
  need: NeedName;
  files: Record<string, string>;
  args(dir: string, port: number): string[];
};

export async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  if (!isInstalled(spec.need)) throw new K2Error(missingLine([spec.need]), EXIT.notFound);
  const dir = await mkdtemp(join(tmpdir(), `k2-${spec.name}-`));
  for (const [name, text] of Object.entries(spec.files)) await Bun.write(join(dir, name), text);
  return await onFreePort(
    (port) => startOn(spec, dir, port),
    (e) => PORT_TAKEN.test(String(e)), // taken since freePort() gave it out: a new one
  ).catch(async (e) => {
    await rm(dir, { recursive: true, force: true });
    throw e;
  });
}

/** The daemon on one port, ready when its /-/ready answers; else stopped, and its last line of stderr thrown. */
async function startOn(spec: DaemonSpec, dir: string, port: number): Promise<RunningDaemon> {
  const proc = Bun.spawn([bin(spec.need), ...spec.args(dir, port)], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    proc.kill();
    await proc.exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, dir, stop };
    await Bun.sleep(100);
  }
  const err = proc.exitCode !== null ? (await new Response(proc.stderr).text()).trim().split("\n").at(-1) : "";
  proc.kill();
  await proc.exited;
  throw new K2Error(`Debian's ${spec.name} did not start on ${url}${err ? `: ${err}` : ""}`, EXIT.unreachable);
}
