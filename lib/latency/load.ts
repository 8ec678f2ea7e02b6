// The load behind the 5x and 10x scenarios, one interface for both targets. On a stack: replay
// recent topic messages with rpk inside k2-redpanda, through dockerode exec, one exec per
// exchange topic, for the scenario's extra rate (on the lab the same exec reaches its rpk
// stand-in). On the lab, also: its generator at the scenario's rate, which makes fresh trades
// where rpk can only replay copies. The achieved rate is measured afterwards from what landed,
// by landing time, never assumed from what was asked.
import { execIn, probeDocker } from "../io/docker.ts";
import { topicOf } from "../lab/topics.ts";
import type { Scenario } from "./verdict.ts";
import { EXCHANGE_NAMES } from "../k2/stack.ts";
import { EXCHANGE_SHARE } from "../lab/instruments.ts";
import { BASE_RATE } from "../runtime/units.ts";

export type LoadResult = { startMs: number; endMs: number } & ({ exitCode: number } | { notRun: string });
export type Load = {
  /** how the report names it */
  how: string;
  /** whether it adds replayed copies of recent messages (rpk) rather than fresh trades */
  copies: boolean;
  run(s: Scenario, durationMs: number, log: (m: string) => void): Promise<LoadResult>;
};

/** rpk inside k2-redpanda: the stack's load, and on the lab the same exec into the stand-in. */
export const rpkLoad = (template: string, env = process.env): Load => ({
  how: "rpk in k2-redpanda, replaying recent messages",
  copies: true,
  run: (s, durationMs, log) => stackLoad(template, s, durationMs, log, env),
});

/** The lab's generator at the scenario's total rate for the load's time, then back to its base rate. */
export const generatorLoad = (control: { rate?: number }, baseRate: number): Load => ({
  how: "the lab's generator at the scenario's rate",
  copies: false,
  async run(s, durationMs, log) {
    const startMs = Date.now();
    log(`load ${s.name}: the lab's generator at ${s.rate} msg/s for ${durationMs / 1000} s`);
    control.rate = s.rate;
    await Bun.sleep(durationMs);
    control.rate = baseRate;
    return { startMs, endMs: Date.now(), exitCode: 0 };
  },
});

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
      const cmd = loadCommand(template, topicOf(e), n, seconds);
      log(`load ${s.name}: ${e}: ${cmd}`);
      return (await execIn(c, ["sh", "-c", cmd])).exitCode;
    }),
  );
  // Keep measuring until the scenario's time is up even if rpk finished early.
  const left = startMs + durationMs - Date.now();
  if (left > 0) await Bun.sleep(left);
  return { startMs, endMs: Date.now(), exitCode: Math.max(...codes) };
}
