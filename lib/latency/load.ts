// The load behind the 5x and 10x scenarios, one interface for both targets. On a stack: replay
// recent topic messages with rpk inside k2-redpanda, through dockerode exec, one exec per
// exchange topic, for the scenario's extra rate (on the lab the same exec reaches its rpk
// stand-in). On the lab, also: its generator at the scenario's rate, which makes fresh trades
// where rpk can only replay copies. The achieved rate is measured afterwards from what landed,
// by landing time, never assumed from what was asked.
import { execIn, inspectIfAny, probeDocker } from "../io/docker.ts";
import { EXCHANGE_NAMES, type ExchangeName, topicOf } from "../k2/stack.ts";
import { BASE_RATE } from "../runtime/units.ts";
import type { Scenario } from "./verdict.ts";

export type LoadResult = { startMs: number; endMs: number } & ({ exitCode: number } | { notRun: string });
export type Load = {
  /** how the report names it */
  how: string;
  /** whether it adds replayed copies of recent messages (rpk) rather than fresh trades */
  copies: boolean;
  run(scenario: Scenario, durationMs: number, log: (m: string) => void, shares: Shares): Promise<LoadResult>;
};

/** Each exchange's share of the trades, as measured before a load (lib/latency/run.ts exchangeShares). */
export type Shares = Record<ExchangeName, number>;

/** rpk inside k2-redpanda: the stack's load, and on the lab the same exec into the stand-in. */
export const rpkLoad = (template: string, env = process.env): Load => ({
  how: "rpk in k2-redpanda, replaying recent messages",
  copies: true,
  run: (s, durationMs, log, shares) => stackLoad(template, s, durationMs, log, shares, env),
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
 * How far back a load replays from: twice the (multiple - 1) windows of traffic it copies at the nominal rate, so the
 * span holds what it copies. It ends where the load starts: a message produced after that (a trade of the measured
 * window) is never copied, and so is never counted twice in the window.
 */
export const replaySpanMs = (scenario: Scenario, durationMs: number) => 2 * (scenario.multiple - 1) * durationMs;

/** The messages a load replays into one exchange's topic: its share of the scenario's extra rate, for its time. */
export function replayCount(scenario: Scenario, share: number, durationMs: number): number {
  const extra = (scenario.multiple - 1) * BASE_RATE; // the stack already carries ~1x
  return Math.max(1, Math.round(extra * share * Math.round(durationMs / 1000)));
}

export type LoadFill = { topic: string; n: number; seconds: number; sinceMs: number; untilMs: number };

/**
 * Fill {topic}, {n}, {seconds}, {since} and {until} (unix ms) in the command, e.g.
 * "rpk topic consume {topic} -o @{since}:{until} -n {n} | rpk topic produce {topic}".
 */
export function loadCommand(template: string, loadFill: LoadFill): string {
  const values: Record<string, string> = {
    topic: loadFill.topic,
    n: String(loadFill.n),
    seconds: String(loadFill.seconds),
    since: String(Math.floor(loadFill.sinceMs)),
    until: String(Math.floor(loadFill.untilMs)),
  };
  return template.replace(/\{(topic|n|seconds|since|until)\}/g, (_, k: string) => values[k]!);
}

export async function stackLoad(
  template: string,
  sc: Scenario,
  durationMs: number,
  log: (m: string) => void,
  shares: Shares,
  env = process.env,
): Promise<LoadResult> {
  const startMs = Date.now();
  const docker = await probeDocker(env);
  if ("unreachable" in docker) return { startMs, endMs: startMs, notRun: docker.unreachable };
  const c = docker.docker.getContainer("k2-redpanda");
  const info = await inspectIfAny(docker, "k2-redpanda");
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
  const codes = await Promise.all(
    EXCHANGE_NAMES.map(async (e) => {
      const fill = { topic: topicOf(e), n: replayCount(sc, shares[e], durationMs), seconds, untilMs: startMs };
      const cmd = loadCommand(template, { ...fill, sinceMs: startMs - replaySpanMs(sc, durationMs) });
      log(`load ${sc.name}: ${e}: ${cmd}`);
      return (await execIn(c, ["sh", "-c", cmd])).exitCode;
    }),
  );
  // Keep measuring until the scenario's time is up even if rpk finished early.
  const left = startMs + durationMs - Date.now();
  if (left > 0) await Bun.sleep(left);
  return { startMs, endMs: Date.now(), exitCode: Math.max(...codes) };
}
