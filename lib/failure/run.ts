// Running one failure-mode test (matrix.ts holds the matrix, lib/faults/ the fault itself): a 5 s baseline, the fault
// through dockerode, flow per exchange every second, clearing after the hold, recovery once the baseline's steady
// state holds again, then the checks of checks.ts. On the lab its pipeline runs meanwhile (the notebook starts it with
// lib/lab/rig.ts, as failureLab says): a continuous replay through the handler containers, and the offload job.

import { FaultControl } from "../faults/control.ts";
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { prefectUrl, recentRuns, startFlowRun } from "../io/prefect.ts";
import { newestWatermark, type WatermarkReading } from "../io/watermarks.ts";
import type { Mapping } from "../k2/discovery.ts";
import { EXCHANGE_NAMES, KAFKA_ENGINE, OFFLOAD_DEPLOYMENT, OFFLOAD_FLOW_DEPLOYMENT } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import type { LabOffload } from "../lab/offload.ts";
import { LAB_QUICK_FLUSH_MS } from "../lab/replayer.ts";
import type { LabRig, LabRigOptions } from "../lab/rig.ts";
import type { Fault } from "../lab/traffic.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { progress } from "../runtime/progress.ts";
import { formatDuration } from "../runtime/units.ts";
import type { Status, Window } from "../verdict/status.ts";
import {
  continuityLossSql,
  type FaultTimes,
  failedDuring,
  flowRunChecks,
  flowSql,
  gapSql,
  type LossRow,
  lossChecks,
  silverGoldSql,
  tradedSql,
  truthLossSql,
  watermarkChecks,
} from "./checks.ts";
import type { TestSpec } from "./matrix.ts";
import type { Result, Skipped } from "./summary.ts";
import { baselineRates, type Check, isolation, recoveryAt, type Tick, testVerdict } from "./verdict.ts";

export type RunOptions = {
  holdMs: number;
  partitionMs: number;
  limitMs: number;
  network: string;
  rate: number;
  faults: Fault[];
  prefectDbUrl?: string;
  /** a stack's Prefect API, and whether the offload tests start the deployment's runs through it */
  prefect?: { api: string; start: boolean };
};

// ## The lab while the tests run: started by the notebook (lib/lab/rig.ts), its consumer held and its offload job read
export type LabEnv = {
  control: { paused: boolean };
  offload: LabOffload;
  truthDb: string;
  /** when the replay started (ms since the epoch): lab faults timed from a test's fault are anchored against it */
  replayStartMs: () => number;
  stop(): Promise<void>;
};

/** The lab the tests (and step 5's drill) run on: the consumer flushing every 500 ms, trades through the handler
 * containers when Docker answers, the offload job every 3 s. */
export const failureLab = (docker: DockerTarget | null, o: Pick<RunOptions, "rate" | "faults">): LabRigOptions => ({
  rate: o.rate,
  seed: 7,
  delay: "lognormal:20ms,0.5",
  flushMs: LAB_QUICK_FLUSH_MS,
  faults: o.faults,
  docker,
  throughContainers: true,
  offload: { everyMs: 3000, containers: true },
});

/** The rig as the tests see it, once its traffic has run for 4 s (the first baseline's history). */
export async function labEnvOf(rig: LabRig, log: (m: string) => void): Promise<LabEnv> {
  log(
    `lab running: ${rig.traffic.baseRate} msg/s through ` +
      `${rig.docker ? "the handler containers" : "the in-process replayer (no Docker)"}, offload every 3 s`,
  );
  await Bun.sleep(4000);
  return {
    control: rig.traffic.control,
    offload: rig.offload!,
    truthDb: rig.traffic.truthDb,
    replayStartMs: () => rig.traffic.summary().startMs,
    stop: () => rig.stop(),
  };
}

export type RunContext = {
  target: Target;
  docker: DockerTarget | null;
  env: LabEnv | null;
  silver: Mapping;
  o: RunOptions;
  onAbort: (c: () => Promise<void>) => void;
  log: (m: string) => void;
};

/** How long to watch for recovery after clearing: offload tests on a stack wait for the next scheduled run. */
const observeLimitMs = (spec: TestSpec, options: RunOptions, stackWatermark: boolean) =>
  spec.offload && stackWatermark ? Math.max(options.limitMs, spec.targetMs + 60_000) : options.limitMs;

/**
 * The tests in order. Without a Docker engine (`noDocker` says why) only the lab's consumer-hold analogues run;
 * after a fault that could not be cleared, the rest are not run.
 */
export async function runTests(
  tests: TestSpec[],
  context: RunContext,
  noDocker: string | null,
  log: (m: string) => void,
): Promise<{ results: Result[]; skipped: Skipped[] }> {
  const results: Result[] = [];
  const skipped: Skipped[] = [];
  for (const t of tests) {
    if (!context.docker && (!context.env || !t.consumerHold)) {
      skipped.push({ test: t.name, reason: `needs a Docker engine (${noDocker ?? ""})` });
      continue;
    }
    const stuck = results.find((r) => !r.restore.ok);
    if (stuck) {
      skipped.push({ test: t.name, reason: `not run: ${stuck.container} could not be restored after ${stuck.test}` });
      continue;
    }
    log(
      `test ${t.id} ${t.name}: ${t.action} ${t.container}` +
        (context.docker ? "" : " (no Docker: the consumer hold only)"),
    );
    results.push(await runTest(t, context));
  }
  return { results, skipped };
}

/** One failure-mode test: baseline, fault, observation until recovery, then every check on its window. */
async function runTest(spec: TestSpec, context: RunContext): Promise<Result> {
  const holdMs = spec.action === "disconnect" ? context.o.partitionMs : context.o.holdMs;
  const probe = probes(spec, context, holdMs);
  const fault = new FaultControl(
    { docker: context.docker, lab: !!context.env, network: context.o.network, hold: context.env?.control },
    {
      name: spec.name,
      label: `test ${spec.name}`,
      container: spec.container,
      action: spec.action,
      consumerHold: spec.consumerHold,
    },
  );
  await fault.check(); // before the baseline: a container that is not K2's (or not the lab's) is refused first
  const { base, rates } = await baseline(spec, probe);
  const wm = watermarkReader(spec, context);
  const wmBefore = wm ? await wm.read() : null;
  context.onAbort(async () => void (await fault.clear()));
  try {
    const faultStart = Date.now();
    // lab faults timed from the test's fault (drop:kraken@fault+3s): in this test's window at any machine speed
    if (context.env)
      for (const f of context.o.faults) if (f.fromFault) f.anchorMs = faultStart - context.env.replayStartMs();
    await fault.apply();
    const inEffect = Date.now() - faultStart; // a stop returns once the container is down
    const startRun = offloadStarter(spec, context);
    await startRun?.("while the fault holds");
    const ticks: Tick[] = base.map((k) => ({ ...k }));
    const limitMs = observeLimitMs(spec, context.o, !!wmBefore);
    const afterClear = startRun ? () => startRun("after clearing") : undefined;
    const obs = await observe(spec, context, {
      probe,
      fault,
      wm,
      rates,
      ticks,
      faultStart,
      holdMs,
      limitMs,
      afterClear,
    });
    const f: FaultTimes = {
      startMs: faultStart,
      clearMs: faultStart + obs.clearedAt,
      endMs: faultStart + (obs.recoveredAt ?? obs.clearedAt),
    };
    // the test's window: baseline to just past recovery
    const w: Window = { fromMs: faultStart - 5000, toMs: f.endMs + 2000 };
    const loss = await lossCheck(context, spec, w, f);
    const checks = [
      ...loss.checks,
      await gapCheck(context, w, holdMs),
      ...(await isolationChecks(context, spec, faultStart, obs.clearedAt)),
      ...(spec.name === "clickhouse-restart" ? [await silverGoldCheck(context, w)] : []),
      ...(spec.offload ? await offloadChecks(context, { wm, wmBefore, ...obs, faultStart, inEffect, holdMs }) : []),
    ];
    const v = testVerdict(spec.targetMs, 0, obs.clearedAt, obs.recoveredAt, checks);
    const restore = fault.restore;
    if (!restore.ok) {
      v.status = "FAIL";
      v.notes.unshift(`the fault could not be cleared after ${restore.attempts} attempts (${restore.error})`);
    } else if (restore.attempts > 1)
      v.notes.push(`cleared on attempt ${restore.attempts} (the Docker engine did not answer at first)`);
    return {
      test: spec.name,
      id: spec.id,
      title: spec.title,
      container: spec.container,
      action: spec.action,
      analogue: context.env ? spec.analogue : null,
      ranAt: new Date(faultStart).toISOString(),
      status: v.status,
      faultStart,
      clearedAt: obs.clearedAt,
      recoveredAt: obs.recoveredAt,
      mttrFromStartMs: v.mttrFromStartMs,
      mttrFromClearMs: v.mttrFromClearMs,
      targetMs: spec.targetMs,
      ticks,
      checks,
      notes: v.notes,
      loss: loss.perExchange,
      lossHow: loss.how,
      lossBySymbol: loss.bySymbol,
      restore,
    };
  } finally {
    await fault.clear();
  }
}

type Probes = { flow(from: number, to: number): Promise<Record<string, number>>; containerOk(): Promise<boolean> };

/** What each tick reads: trades landed per exchange in a second, and whether the test's container is well. */
function probes(spec: TestSpec, { target, docker, silver, o }: RunContext, holdMs: number): Probes {
  // a trade lands within this of its exchange time during a test
  const lookbackMs = holdMs + o.limitMs + spec.targetMs + 10 * 60_000;
  return {
    async flow(from, to) {
      const rows = await target.query<{ exchange: string; n: number }>(flowSql(silver, from, to, lookbackMs));
      return Object.fromEntries(EXCHANGE_NAMES.map((e) => [e, Number(rows.find((r) => r.exchange === e)?.n ?? 0)]));
    },
    async containerOk() {
      if (!docker) return true;
      const i = await docker.docker
        .getContainer(spec.container)
        .inspect()
        .catch(() => undefined); // gone or the engine away for a moment: not ready yet, asked again on the next tick
      const h = i?.State.Health?.Status;
      const onNet = spec.action !== "disconnect" || !!i?.NetworkSettings.Networks[o.network];
      // "starting" is Docker's before its first check, an interval (15 s on K2) after a restart: recovery is the
      // flow's to say, not the check's schedule; an unhealthy one is not well
      return !!i?.State.Running && !i.State.Paused && h !== "unhealthy" && onNet;
    },
  };
}

/** Five seconds of flow before the fault; an unhealthy baseline refuses the test, naming the check. */
async function baseline(spec: TestSpec, probe: Probes) {
  const base: Tick[] = [];
  for (let i = 0; i < 5; i++) {
    await Bun.sleep(1000);
    const now = Date.now();
    base.push({ t: i * 1000 - 5000, flow: await probe.flow(now - 1000, now), containersOk: await probe.containerOk() });
  }
  const rates = baselineRates(base, [...EXCHANGE_NAMES]);
  const dead = EXCHANGE_NAMES.filter((e) => rates[e] === 0);
  const refuse = (why: string) =>
    new K2Error(`test ${spec.name} refused to start: unhealthy baseline (${why})`, EXIT.gate);
  if (!base.every((k) => k.containersOk)) throw refuse(`${spec.container} is not running and healthy`);
  if (dead.length) throw refuse(`no trades landed from ${dead.join(", ")} in 5 s`);
  return { base, rates };
}

type WatermarkReader = { read(): Promise<WatermarkReading | null>; error?: string };

/**
 * On a stack the offload tests watch the real watermark (ClickHouse or the Prefect DB). One that cannot be read
 * makes their checks NOT CHECKED, not the run fail.
 */
function watermarkReader(spec: TestSpec, { target, env, o }: RunContext): WatermarkReader | null {
  if (!spec.offload || env) return null;
  const reader: WatermarkReader = {
    read: () =>
      newestWatermark(target, target.database, o.prefectDbUrl).catch((e) => {
        if (!(e instanceof K2Error)) throw e;
        reader.error = e.message;
        return null;
      }),
  };
  return reader;
}

type Observation = {
  clearedAt: number;
  recoveredAt: number | null;
  wmAtClear: WatermarkReading | null;
  wmAfter: WatermarkReading | null;
};

/**
 * Every second: clear the fault once it has held, read the flow, and find recovery (flow back at baseline and, for
 * the offload tests, the next successful run). Stops 2 s after recovery, at the limit, or when clearing failed.
 */
async function observe(
  spec: TestSpec,
  context: RunContext,
  s: {
    probe: Probes;
    fault: FaultControl;
    wm: WatermarkReader | null;
    rates: Record<string, number>;
    ticks: Tick[];
    faultStart: number;
    holdMs: number;
    limitMs: number;
    /** once the fault is cleared (a stack's offload test: start the next run) */
    afterClear?: () => Promise<void>;
  },
): Promise<Observation> {
  const o: Observation = { clearedAt: 0, recoveredAt: null, wmAtClear: null, wmAfter: null };
  const bar = progress(`test ${spec.id} ${spec.name}`, s.holdMs + s.limitMs);
  for (let i = 1; ; i++) {
    await Bun.sleep(Math.max(0, s.faultStart + i * 1000 - Date.now()));
    const now = Date.now();
    const since = now - s.faultStart;
    if (!s.fault.cleared && since >= s.holdMs) {
      o.wmAtClear = s.wm && (await s.wm.read());
      await s.fault.clear();
      o.clearedAt = Date.now() - s.faultStart;
      await s.afterClear?.();
    }
    s.ticks.push({ t: since, flow: await s.probe.flow(now - 1000, now), containersOk: await s.probe.containerOk() });
    if (s.fault.cleared && o.wmAtClear && i % 5 === 0 && !(o.wmAfter && o.wmAfter.ms > o.wmAtClear.ms))
      o.wmAfter = await s.wm!.read();
    if (s.fault.cleared && o.recoveredAt === null) o.recoveredAt = recoveredBy(spec, context, s, o, now);
    bar.update(
      since,
      !s.fault.cleared
        ? `fault held ${formatDuration(since)}`
        : o.recoveredAt === null
          ? `cleared; waiting for recovery, ${formatDuration(since - o.clearedAt)}`
          : "recovered",
    );
    if (!s.fault.restore.ok) break; // the fault could not be cleared (Docker lost): nothing to wait for
    if (o.recoveredAt !== null && since > o.recoveredAt + 2000) break;
    if (s.fault.cleared && since > o.clearedAt + s.limitMs) break;
  }
  const r = s.fault.restore;
  bar.end(
    !r.ok
      ? `fault not cleared after ${r.attempts} attempts`
      : o.recoveredAt === null
        ? "not recovered"
        : `recovered ${formatDuration(o.recoveredAt - o.clearedAt)} after clearing`,
  );
  return o;
}

/** Recovery, in ms since the fault's start: flow back at baseline and, for offload tests, a successful run since. */
function recoveredBy(
  spec: TestSpec,
  context: RunContext,
  s: { ticks: Tick[]; rates: Record<string, number>; faultStart: number },
  observation: Observation,
  now: number,
): number | null {
  const watch = spec.exchange ? [spec.exchange] : [...EXCHANGE_NAMES];
  const flowBack = recoveryAt(
    s.ticks.filter((k) => k.t >= 0),
    s.rates,
    watch,
    observation.clearedAt,
  );
  // when the offload recovered (epoch ms), 0 when it does not apply, undefined while it has not
  let offloadAt: number | undefined = 0;
  if (spec.offload && context.env)
    offloadAt = context.env.offload.runs.find((r) => r.ok && r.at - s.faultStart > observation.clearedAt)?.at;
  else if (spec.offload && observation.wmAtClear)
    offloadAt = observation.wmAfter && observation.wmAfter.ms > observation.wmAtClear.ms ? now : undefined;
  if (flowBack === null || offloadAt === undefined) return null;
  return Math.max(flowBack, offloadAt ? offloadAt - s.faultStart : 0);
}

/** One exchange down, or the offload tier: the other exchanges (the hot tier) keep their baseline flow. */
/**
 * During a one-exchange or offload fault the others keep their rate. Counted by exchange time once the window's
 * trades have landed (a flush interval after it: the lab's 500 ms, a stack's Kafka engine's), fault window against
 * the 5 s baseline: by landing time, a flush a busy machine delayed in the baseline and landed in the fault window
 * read as a rate 1.6x of baseline with nothing wrong.
 */
async function isolationChecks(
  context: RunContext,
  spec: TestSpec,
  faultStart: number,
  clearedAt: number,
): Promise<Check[]> {
  if (!spec.exchange && !spec.offload) return [];
  const others = EXCHANGE_NAMES.filter((e) => e !== spec.exchange);
  const settleMs = (context.env ? LAB_QUICK_FLUSH_MS : KAFKA_ENGINE.flushIntervalMs) + 1000;
  await Bun.sleep(Math.max(0, faultStart + clearedAt + settleMs - Date.now()));
  const count = async (from: number, to: number) => {
    const rows = await context.target.query<{ exchange: string; n: number }>(tradedSql(context.silver, from, to));
    return Object.fromEntries(EXCHANGE_NAMES.map((e) => [e, Number(rows.find((r) => r.exchange === e)?.n ?? 0)]));
  };
  const [before, during] = [
    await count(faultStart - 5000, faultStart),
    await count(faultStart, faultStart + clearedAt),
  ];
  const perSecond = (n: Record<string, number>, ms: number) =>
    Object.fromEntries(Object.entries(n).map(([e, v]) => [e, v / (ms / 1000)]));
  const rates = perSecond(before, 5000);
  const tick: Tick = { t: 0, flow: perSecond(during, clearedAt), containersOk: true };
  const iso = isolation([tick], rates, others, 0, 1);
  return [
    {
      name: spec.exchange ? "other exchanges keep flowing" : "hot tier unaffected",
      status: iso.every((x) => x.ok) ? "PASS" : "FAIL",
      detail: iso.map((x) => `${x.exchange} ${x.ratio.toFixed(2)}x of baseline`).join(", "),
    },
  ];
}

/** The offload tests: the lab's own job, or the stack's watermark when it can be read. */
async function offloadChecks(
  context: RunContext,
  s: Observation & {
    wm: WatermarkReader | null;
    wmBefore: WatermarkReading | null;
    faultStart: number;
    inEffect: number;
    holdMs: number;
  },
): Promise<Check[]> {
  if (context.env) return labOffloadChecks(context, context.env, s.faultStart, s.inEffect, s.clearedAt);
  const clearedAt = s.faultStart + s.clearedAt;
  const flow = await flowRuns(context, s.faultStart + s.inEffect, clearedAt);
  const failed = flow.runs ? failedDuring(flow.runs, s.faultStart + s.inEffect, clearedAt) : null;
  const wm: Check[] =
    s.wmBefore && s.wmAtClear
      ? watermarkChecks(s.wmBefore, s.wmAtClear, s.wmAfter, s.holdMs, THRESHOLDS.offloadIntervalMs, failed)
      : [
          {
            name: "watermark",
            status: "NOT CHECKED",
            detail: s.wm?.error ?? "no offload_watermarks in ClickHouse, and PREFECT_DB_URL is not set",
          },
        ];
  return [...flow.checks, ...wm];
}

/** Prefect's flow runs of the offload deployment around the fault; an API that does not answer is said, not fatal. */
async function flowRuns(context: RunContext, from: number, clearedAt: number) {
  const api = context.o.prefect?.api ?? prefectUrl();
  try {
    const runs = await recentRuns(api, OFFLOAD_DEPLOYMENT, 20);
    return { runs, checks: flowRunChecks(runs, from, clearedAt, OFFLOAD_FLOW_DEPLOYMENT) };
  } catch (e) {
    if (!(e instanceof K2Error)) throw e;
    return { runs: null, checks: [{ name: "Prefect flow runs", status: "NOT CHECKED" as Status, detail: e.message }] };
  }
}

/**
 * On a stack, with --start-offload-runs (confirmed): a run of the offload deployment started through Prefect's API, so
 * that an offload test does not wait up to 15 minutes for the schedule. Null on the lab or without the flag.
 */
function offloadStarter(spec: TestSpec, context: RunContext): ((when: string) => Promise<void>) | null {
  const p = context.o.prefect;
  if (!spec.offload || context.env || !p?.start) return null;
  return async (when) => {
    const r = await startFlowRun(p.api, OFFLOAD_FLOW_DEPLOYMENT).catch((e: unknown) => {
      if (!(e instanceof K2Error)) throw e;
      context.log(`test ${spec.name}: could not start a run ${when}: ${e.message}`);
      return null;
    });
    if (r) context.log(`test ${spec.name}: started flow run ${r.name} of ${OFFLOAD_FLOW_DEPLOYMENT} ${when}`);
  };
}

/**
 * Jepsen-style classification of every trade in the window: by ground truth on the lab, by sequence continuity on a
 * stack.
 */
async function lossCheck(context: RunContext, spec: TestSpec, span: Window, times: FaultTimes) {
  if (!context.env && !context.silver.sequence)
    return {
      checks: [
        {
          name: "loss",
          status: "NOT CHECKED" as Status,
          detail: `${context.silver.table} has no sequence column to check continuity by`,
        },
      ],
      perExchange: null,
      bySymbol: [],
      how: "",
    };
  const how = context.env
    ? "against the lab's ground truth"
    : `by sequence continuity per symbol in ${context.silver.table} (a gap at a symbol's first or last trade in ` +
      `the window is not seen)`;
  const sql = context.env
    ? truthLossSql(context.silver, span, times, context.env.truthDb)
    : continuityLossSql(context.silver, span, times);
  const rows = await context.target.query<LossRow>(sql);
  return { ...lossChecks(rows, EXCHANGE_NAMES, spec.exchange), how };
}

/**
 * The brief's recovery check is "no gap > 30 s in ingestion"; a fault that stops ingestion on purpose opens a gap as
 * long as itself, so the limit is 30 s beyond it.
 */
async function gapCheck(context: RunContext, window: Window, holdMs: number): Promise<Check> {
  const gaps = await context.target.query<{ exchange: string; gap_s: number }>(gapSql(context.silver, window));
  const worst = gaps.reduce((a, g) => Math.max(a, Number(g.gap_s)), 0),
    limit = (THRESHOLDS.ingestionGapMs + holdMs) / 1000;
  return {
    name: `largest gap in ingestion ≤ ${formatDuration(THRESHOLDS.ingestionGapMs)} beyond the fault`,
    status: worst > limit ? "FAIL" : "PASS",
    detail:
      `${gaps.map((g) => `${g.exchange} ${Number(g.gap_s).toFixed(1)} s`).join(", ")} (fault held ` +
      `${formatDuration(holdMs)})`,
  };
}

async function silverGoldCheck(context: RunContext, window: Window): Promise<Check> {
  const name = "no silver/gold gap";
  try {
    const [g] = await context.target.query<{ silver: number; gold: number }>(
      silverGoldSql(context.silver, context.target.database, window),
    );
    return {
      name,
      status: Number(g!.silver) === Number(g!.gold) ? "PASS" : "FAIL",
      detail: `over the test's minutes: silver ${g!.silver} valid trades, ohlcv_1m trade_count ${g!.gold}`,
    };
  } catch (e) {
    if (e instanceof K2Error) return { name, status: "NOT CHECKED", detail: e.message };
    throw e;
  }
}

/**
 * The lab's offload job: no run advanced the watermark while the fault held, the next one succeeded, and the cold copy
 * holds every row once.
 */
async function labOffloadChecks(
  context: RunContext,
  env: LabEnv,
  faultStart: number,
  inEffect: number,
  clearedAt: number,
): Promise<Check[]> {
  // a run counts when it began with the fault in effect (it checks its dependencies as it starts): on a loaded machine
  // a run begun just before the fault can end inside it, and rightly succeeds
  const during = env.offload.runs.filter((r) => r.startedAt >= faultStart + inEffect && r.at < faultStart + clearedAt);
  const failed = during.filter((r) => !r.ok);
  const checks: Check[] = [
    {
      name: "watermark not advanced while the fault held",
      status: !during.length ? "NOT CHECKED" : failed.length === during.length ? "PASS" : "FAIL",
      detail:
        `${during.length} runs during the fault, ${failed.length} failed ` +
        `(${[...new Set(failed.map((r) => r.reason))].join("; ")})`,
    },
  ];
  const next = env.offload.runs.find((r) => r.ok && r.at - faultStart > clearedAt);
  checks.push({
    name: "next offload succeeded",
    status: next ? "PASS" : "FAIL",
    detail: next
      ? `${formatDuration(next.at - faultStart - clearedAt)} after clearing, ${next.rows} rows`
      : "no successful run after clearing",
  });
  await env.offload.runOnce(); // settle, then check exactly-once over everything offloaded so far
  const [x] = await context.target.query<{ cold: number; distinct_cold: number; expected: number }>(
    await env.offload.exactlyOnceSql(),
  );
  const once = Number(x!.cold) === Number(x!.distinct_cold) && Number(x!.cold) === Number(x!.expected);
  checks.push({
    name: "offloaded exactly once",
    status: once ? "PASS" : "FAIL",
    detail:
      `${x!.cold} cold rows, ${x!.distinct_cold} distinct, ${x!.expected} silver rows up to the watermark ` +
      `(${env.offload.store.where})`,
  });
  return checks;
}
