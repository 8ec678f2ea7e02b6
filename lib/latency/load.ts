// Load on a real stack: replay recent topic messages with rpk inside k2-redpanda, through
// dockerode exec, one exec per exchange topic, for the scenario's extra rate. The achieved
// rate is measured afterwards from what landed, never assumed from what was asked.
import { probeDocker } from "../io/docker.ts";
import type { Scenario } from "./verdict.ts";
import { EXCHANGE_NAMES } from "../k2/stack.ts";
import { EXCHANGE_SHARE } from "../lab/instruments.ts";
import { BASE_RATE } from "../runtime/units.ts";

export type LoadResult = { startMs: number; endMs: number } & ({ exitCode: number } | { notRun: string });

/**
 * Fill {topic}, {n} and {seconds} in the command: "rpk topic consume {topic} -o -{n} -n {n} | rpk topic produce
 * {topic}".
 */
export function loadCommand(template: string, topic: string, n: number, seconds: number): string {
  return template.replaceAll("{topic}", topic).replaceAll("{n}", String(n)).replaceAll("{seconds}", String(seconds));
}

export async function stackLoad(
  template: string,
  s: Scenario,
  durationMs: number,
  log: (m: string) => void,
  env = process.env,
): Promise<LoadResult> {
  const startMs = Date.now();
  const docker = await probeDocker(env);
  if ("unreachable" in docker) return { startMs, endMs: startMs, notRun: docker.unreachable };
  const c = docker.docker.getContainer("k2-redpanda");
  const info = await c.inspect().catch(() => undefined);
  if (!info)
    return {
      startMs,
      endMs: startMs,
      notRun:
        `no k2-redpanda container on ${docker.host}: load cannot be generated (start the stack's ` +
        "redpanda service)",
    };
  if (!info.State.Running)
    return { startMs, endMs: startMs, notRun: `k2-redpanda is ${info.State.Status}: load cannot be generated` };
  const seconds = Math.round(durationMs / 1000);
  const extra = (s.multiple - 1) * BASE_RATE; // the stack already carries ~1x
  const codes = await Promise.all(
    EXCHANGE_NAMES.map(async (e) => {
      const n = Math.max(1, Math.round(extra * EXCHANGE_SHARE[e] * seconds));
      const cmd = loadCommand(template, `market.crypto.trades.${e}.raw`, n, seconds);
      log(`load ${s.name}: ${e}: ${cmd}`);
      const exec = await c.exec({ Cmd: ["sh", "-c", cmd], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      await new Promise<void>((resolve) => {
        stream.on("end", resolve);
        stream.on("close", resolve);
        stream.resume();
      });
      return (await exec.inspect()).ExitCode ?? -1;
    }),
  );
  // Keep measuring until the scenario's time is up even if rpk finished early.
  const left = startMs + durationMs - Date.now();
  if (left > 0) await Bun.sleep(left);
  return { startMs, endMs: Date.now(), exitCode: Math.max(...codes) };
}
