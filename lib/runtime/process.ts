// Processes this project detaches (the burn-in sampler, the exporter) are found again by pid.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./paths.ts";

/** The process exists (signal 0 checks without sending anything). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Run a project script (a path from the project root) in a new session that outlives this process, its output to
 * `log` (the folder is made): the detached burn-in sampler and exporter. Returns its pid.
 */
export function spawnDetached(script: string, args: string[], log: string, env: Record<string, string> = {}): number {
  mkdirSync(dirname(log), { recursive: true });
  const proc = Bun.spawn(["setsid", process.execPath, join(ROOT, script), ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: Bun.file(log),
    stderr: Bun.file(log),
    env: { ...process.env, ...env },
  });
  proc.unref();
  return proc.pid;
}
