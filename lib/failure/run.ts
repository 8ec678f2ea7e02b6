// Running one failure-mode test (matrix.ts holds the matrix and the journal): a 5 s
// baseline, the fault through dockerode, flow per exchange every second, clearing after the
// hold, recovery once the baseline's steady state holds again, then the checks of
// checks.ts. On the lab its pipeline runs meanwhile: a continuous replay through
// the handler containers, and the offload job.
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import type { Mapping } from "../k2/discovery.ts";
import { K2Error, EXIT, firstLine } from "../runtime/errors.ts";
import { EXCHANGE_NAMES } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { progress } from "../runtime/progress.ts";
import { formatDuration } from "../runtime/units.ts";
import { journalAdd, applyFault, clearWithRetry, guard, type TestSpec, type JournalEntry } from "./matrix.ts";
import { baselineRates, recoveryAt, isolation, testVerdict, type Tick, type Check } from "./verdict.ts";
import {
  flowSql,
  truthLossSql,
  continuityLossSql,
  lossChecks,
  gapSql,
  silverGoldSql,
  watermarkChecks,
  type FaultTimes,
  type LossRow,
} from "./checks.ts";
import { newestWatermark, type WatermarkReading } from "../io/watermarks.ts";
import type { Window } from "../verdict/status.ts";
import { ensureLabStack } from "../lab/stack.ts";
import { resetLab } from "../lab/schema.ts";
import { replay } from "../lab/replayer.ts";
import { parseDelay } from "../lab/random.ts";
import type { Fault } from "../lab/traffic.ts";
import { LabOffload, exactlyOnceSql } from "../lab/offload.ts";
import type { Status } from "../verdict/status.ts";

export type RunOptions = {
  holdMs: number;
  partitionMs: number;
  limitMs: number;
  network: string;
  rate: number;
  faults: Fault[];
  prefectDbUrl?: string;
};
import type { Result } from "./summary.ts";

// ## The lab while the tests run
export type LabEnv = { control: { paused: boolean; stop: boolean }; offload: LabOffload; stop(): Promise<void> };
export async function startLabEnv(
  t: Target,
  docker: DockerTarget | null,
  o: Pick<RunOptions, "rate" | "faults">,
  log: (m: string) => void,
): Promise<LabEnv> {
  const conduits = docker ? await ensureLabStack(docker) : undefined;
  await resetLab(t, t.database);
  const control = { paused: false, stop: false };
  const replaying = replay(t, {
    ratePerSec: o.rate,
    durationMs: 6 * 3_600_000,
    seed: 7,
    delay: parseDelay("lognormal:20ms,0.5"),
    flushMs: 100,
    conduits,
    control,
    database: t.database,
    faults: o.faults,
  });
  const offload = await new LabOffload(t, docker, 3000).setup();
  offload.start();
  log(
    `lab running: ${o.rate} msg/s through ` +
      `${conduits ? "the handler containers" : "the in-process replayer (no Docker)"}, offload every 3 s`,
  );
  await Bun.sleep(4000);
  return {
    control,
    offload,
    stop: async () => {
      control.stop = true;
      offload.stop();
      await replaying;
      conduits?.close();
    },
  };
}

export type RunContext = {
  target: Target;
  docker: DockerTarget | null;
  env: LabEnv | null;
  silver: Mapping;
  o: RunOptions;
  onAbort: (c: () => Promise<void>) => void;
};

/** How long to watch for recovery after clearing: offload tests on a stack wait for the next scheduled run. */
export const observeLimitMs = (t: TestSpec, o: RunOptions, stackWatermark: boolean) =>
  t.offload && stackWatermark ? Math.max(o.limitMs, t.targetMs + 60_000) : o.limitMs;

export async function runTest(t: TestSpec, c: RunContext): Promise<Result> {
  const { target, docker, env, silver, o } = c;
  const holdMs = t.action === "disconnect" ? o.partitionMs : o.holdMs;
  // a trade lands within this of its exchange time during a test
  const lookbackMs = holdMs + o.limitMs + t.targetMs + 10 * 60_000;
  const flow = async (from: number, to: number) => {
    const rows = await target.query<{ exchange: string; n: number }>(flowSql(silver, from, to, lookbackMs));
    return Object.fromEntries(EXCHANGE_NAMES.map((e) => [e, Number(rows.find((r) => r.exchange === e)?.n ?? 0)]));
  };
  const containerOk = async () => {
    if (!docker) return true;
    const i = await docker.docker
      .getContainer(t.container)
      .inspect()
      .catch(() => undefined);
    const h = (i?.State as any)?.Health?.Status;
    const onNet = t.action !== "disconnect" || !!i?.NetworkSettings.Networks[o.network];
    return !!i?.State.Running && !i.State.Paused && h !== "unhealthy" && h !== "starting" && onNet;
  };
  if (docker) await guard(docker, t.container, !!env);

  // Baseline: five seconds of flow; refuse to start on an unhealthy one, naming the check.
  const base: Tick[] = [];
  for (let i = 0; i < 5; i++) {
    await Bun.sleep(1000);
    const now = Date.now();
    base.push({ t: i * 1000 - 5000, flow: await flow(now - 1000, now), containersOk: await containerOk() });
  }
  const rates = baselineRates(base, [...EXCHANGE_NAMES]);
  const dead = EXCHANGE_NAMES.filter((e) => rates[e] === 0);
  if (!base.every((k) => k.containersOk))
    throw new K2Error(
      `test ${t.name} refused to start: unhealthy baseline (${t.container} is not running and healthy)`,
      EXIT.gate,
    );
  if (dead.length)
    throw new K2Error(
      `test ${t.name} refused to start: unhealthy baseline (no trades landed from ${dead.join(", ")} in 5 s)`,
      EXIT.gate,
    );

  // On a stack the offload tests watch the real watermark (ClickHouse or the Prefect DB).
  let wmError: string | undefined; // a watermark that cannot be read makes its checks NOT CHECKED, not the run fail
  const watermark =
    t.offload && !env
      ? () =>
          newestWatermark(target, target.database, o.prefectDbUrl).catch((e) => {
            if (!(e instanceof K2Error)) throw e;
            wmError = e.message;
            return null;
          })
      : null;
  const wmBefore = watermark ? await watermark() : null;
  const limitMs = observeLimitMs(t, o, !!wmBefore);

  // The fault: journalled first, cleared whatever happens.
  const entry: JournalEntry = {
    test: t.name,
    container: t.container,
    action: t.action,
    network: t.action === "disconnect" ? o.network : undefined,
    at: new Date().toISOString(),
    pid: process.pid,
  };
  let cleared = false,
    restore: Result["restore"] = { ok: true, attempts: 0 };
  const clear = async () => {
    if (cleared) return;
    cleared = true;
    if (env && t.consumerHold) env.control.paused = false;
    if (docker) restore = await clearWithRetry(docker, entry);
  };
  c.onAbort(clear);
  const faultStart = Date.now();
  const ticks: Tick[] = base.map((k) => ({ ...k }));
  const labOkAfter = (ms: number) => env?.offload.runs.find((r) => r.ok && r.at - faultStart > ms);
  const bar = progress(`test ${t.id} ${t.name}`, holdMs + limitMs);
  try {
    if (docker) {
      await journalAdd(entry);
      // Docker lost while applying the fault: clear what may have taken effect, then say where things stand.
      await applyFault(docker, entry).catch(async (e) => {
        if (e instanceof K2Error) throw e;
        await clear();
        throw new K2Error(
          `test ${t.name}: the Docker engine failed while applying the fault (${firstLine(e)}); ` +
            (restore.ok
              ? `${t.container} was restored`
              : `clearing failed ${restore.attempts} times (${restore.error}): ${t.container} may be left as the ` +
                "fault left it; once Docker answers, run this notebook again (it restores from the journal first)"),
          EXIT.unreachable,
        );
      });
    }
    if (env && t.consumerHold) env.control.paused = true;
    const inEffect = Date.now() - faultStart; // a stop returns once the container is down
    let clearedAt = 0,
      recoveredAt: number | null = null,
      wmAtClear: WatermarkReading | null = null,
      wmAfter: WatermarkReading | null = null;
    for (let s = 1; ; s++) {
      await Bun.sleep(Math.max(0, faultStart + s * 1000 - Date.now()));
      const now = Date.now();
      if (!cleared && now - faultStart >= holdMs) {
        wmAtClear = watermark && (await watermark());
        await clear();
        clearedAt = Date.now() - faultStart;
      }
      ticks.push({ t: now - faultStart, flow: await flow(now - 1000, now), containersOk: await containerOk() });
      if (cleared && wmAtClear && s % 5 === 0 && !(wmAfter && wmAfter.ms > wmAtClear.ms)) wmAfter = await watermark!();
      if (cleared && recoveredAt === null) {
        const flowBack = recoveryAt(
          ticks.filter((k) => k.t >= 0),
          rates,
          t.exchange ? [t.exchange] : [...EXCHANGE_NAMES],
          clearedAt,
        );
        const offloadAt = !t.offload
          ? 0
          : env
            ? labOkAfter(clearedAt)?.at
            : wmAtClear
              ? wmAfter && wmAfter.ms > wmAtClear.ms
                ? now
                : undefined
              : 0;
        if (flowBack !== null && offloadAt !== undefined)
          recoveredAt = Math.max(flowBack, offloadAt ? offloadAt - faultStart : 0);
      }
      bar.update(
        now - faultStart,
        !cleared
          ? `fault held ${formatDuration(now - faultStart)}`
          : recoveredAt === null
            ? `cleared; waiting for recovery, ${formatDuration(now - faultStart - clearedAt)}`
            : "recovered",
      );
      if (!restore.ok) break; // the fault could not be cleared (Docker lost): nothing to wait for
      if (recoveredAt !== null && now - faultStart > recoveredAt + 2000) break;
      if (cleared && now - faultStart > clearedAt + limitMs) break;
    }
    bar.end(
      !restore.ok
        ? `fault not cleared after ${restore.attempts} attempts`
        : recoveredAt === null
          ? "not recovered"
          : `recovered ${formatDuration(recoveredAt - clearedAt)} after clearing`,
    );
    const f: FaultTimes = {
      startMs: faultStart,
      clearMs: faultStart + clearedAt,
      endMs: faultStart + (recoveredAt ?? clearedAt),
    };
    // the test's window: baseline to just past recovery
    const w: Window = { fromMs: faultStart - 5000, toMs: f.endMs + 2000 };
    const checks: Check[] = [];
    const loss = await lossCheck(c, t, w, f);
    checks.push(...loss.checks, await gapCheck(c, w, holdMs));
    if (t.exchange || t.offload) {
      const iso = isolation(
        ticks,
        rates,
        EXCHANGE_NAMES.filter((e) => e !== t.exchange),
        0,
        clearedAt,
      );
      checks.push({
        name: t.exchange ? "other exchanges keep flowing" : "hot tier unaffected",
        status: iso.every((x) => x.ok) ? "PASS" : "FAIL",
        detail: iso.map((x) => `${x.exchange} ${x.ratio.toFixed(2)}x of baseline`).join(", "),
      });
    }
    if (t.name === "clickhouse-restart") checks.push(await silverGoldCheck(c, w));
    if (t.offload) {
      if (env) checks.push(...(await labOffloadChecks(c, env, faultStart, inEffect, clearedAt)));
      else if (wmBefore && wmAtClear)
        checks.push(...watermarkChecks(wmBefore, wmAtClear, wmAfter, holdMs, THRESHOLDS.offloadIntervalMs));
      else
        checks.push({
          name: "watermark",
          status: "NOT CHECKED",
          detail: wmError ?? "no offload_watermarks in ClickHouse, and PREFECT_DB_URL is not set",
        });
    }
    const v = testVerdict(t.targetMs, 0, clearedAt, recoveredAt, checks);
    if (!restore.ok) {
      v.status = "FAIL";
      v.notes.unshift(`the fault could not be cleared after ${restore.attempts} attempts (${restore.error})`);
    } else if (restore.attempts > 1)
      v.notes.push(`cleared on attempt ${restore.attempts} (the Docker engine did not answer at first)`);
    return {
      test: t.name,
      id: t.id,
      title: t.title,
      container: t.container,
      action: t.action,
      analogue: env ? t.analogue : null,
      ranAt: new Date(faultStart).toISOString(),
      status: v.status,
      faultStart,
      clearedAt,
      recoveredAt,
      mttrFromStartMs: v.mttrFromStartMs,
      mttrFromClearMs: v.mttrFromClearMs,
      targetMs: t.targetMs,
      ticks,
      checks,
      notes: v.notes,
      loss: loss.perExchange,
      lossHow: loss.how,
      lossBySymbol: loss.bySymbol,
      restore,
    };
  } finally {
    await clear();
  }
}

/**
 * Jepsen-style classification of every trade in the window: by ground truth on the lab, by sequence continuity on a
 * stack.
 */
async function lossCheck(c: RunContext, t: TestSpec, w: Window, f: FaultTimes) {
  if (!c.env && !c.silver.sequence)
    return {
      checks: [
        {
          name: "loss",
          status: "NOT CHECKED" as Status,
          detail: `${c.silver.table} has no sequence column to check continuity by`,
        },
      ],
      perExchange: null,
      bySymbol: [],
      how: "",
    };
  const how = c.env
    ? "against the lab's ground truth"
    : `by sequence continuity per symbol in ${c.silver.table} (a gap at a symbol's first or last trade in the window ` +
      `is not seen)`;
  const rows = await c.target.query<LossRow>(c.env ? truthLossSql(c.silver, w, f) : continuityLossSql(c.silver, w, f));
  return { ...lossChecks(rows, EXCHANGE_NAMES, t.exchange), how };
}

/**
 * The brief's recovery check is "no gap > 30 s in ingestion"; a fault that stops ingestion on purpose opens a gap as
 * long as itself, so the limit is 30 s beyond it.
 */
async function gapCheck(c: RunContext, w: Window, holdMs: number): Promise<Check> {
  const gaps = await c.target.query<{ exchange: string; gap_s: number }>(gapSql(c.silver, w));
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

async function silverGoldCheck(c: RunContext, w: Window): Promise<Check> {
  const name = "no silver/gold gap";
  try {
    const [g] = await c.target.query<{ silver: number; gold: number }>(silverGoldSql(c.silver, c.target.database, w));
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
  c: RunContext,
  env: LabEnv,
  faultStart: number,
  inEffect: number,
  clearedAt: number,
): Promise<Check[]> {
  const during = env.offload.runs.filter((r) => r.at >= faultStart + inEffect && r.at < faultStart + clearedAt);
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
  const [x] = await c.target.query<{ cold: number; distinct_cold: number; expected: number }>(
    exactlyOnceSql(c.target.database),
  );
  const once = Number(x!.cold) === Number(x!.distinct_cold) && Number(x!.cold) === Number(x!.expected);
  checks.push({
    name: "offloaded exactly once",
    status: once ? "PASS" : "FAIL",
    detail: `${x!.cold} cold rows, ${x!.distinct_cold} distinct, ${x!.expected} silver rows up to the watermark`,
  });
  return checks;
}
