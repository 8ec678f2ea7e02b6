// # Step 3: the six failure-mode tests
//
// Lowest risk first (the brief's order). Each test takes a baseline, injects its fault
// through dockerode, watches flow per exchange at 1 s, clears the fault, and measures the
// time to recovery from the fault's start and from its clearing. Every trade in the window
// is classified landed, lost, duplicated or late. A fault in flight is journalled first and
// cleared on any exit; the next run restores what a killed one left broken.
import { main, type Notebook } from "../lib/notebook.ts";
import { targetFromEnv, connectClickHouse, type Target } from "../lib/clickhouse.ts";
import { probeDocker, connectDocker, type DockerTarget } from "../lib/docker.ts";
import { ensureLabStack, LAB_NET } from "../lib/lab/stack.ts";
import { resetLab } from "../lib/lab/schema.ts";
import { replay } from "../lib/lab/replayer.ts";
import { parseDelay } from "../lib/lab/random.ts";
import { parseFault, type Fault } from "../lib/lab/traffic.ts";
import { LabOffload, exactlyOnceSql } from "../lib/lab/offload.ts";
import { MATRIX, MILESTONE_MTTR_MS, selectTests, plan, journalAdd, applyFault, clearWithRetry, restoreJournal, guard, type TestSpec, type JournalEntry } from "../lib/failure.ts";
import { baselineRates, recoveryAt, isolation, testVerdict, type Tick, type Check } from "../lib/analysis/failure.ts";
import { parseDuration, parseRate, formatDuration } from "../lib/units.ts";
import { K2Error, EXIT, usageError } from "../lib/errors.ts";
import { EXCHANGE_NAMES } from "../lib/k2.ts";
import { requireHealthy } from "../lib/health.ts";
import { loadConfig } from "../lib/config.ts";
import { Plot } from "../lib/report/plot.ts";
import type { Status } from "../lib/report/document.ts";

type Options = { skipHealth: boolean; tests: TestSpec[]; explicit: boolean; holdMs: number; partitionMs: number; rate: number; dryRun: boolean; yes: boolean; network: string; limitMs: number; faults: Fault[] };
type Result = {
  test: string; id: number; title: string; container: string; action: string; analogue: string | null; ranAt: string; status: Status;
  faultStart: number; clearedAt: number; recoveredAt: number | null; mttrFromStartMs: number | null; mttrFromClearMs: number | null; targetMs: number;
  ticks: Tick[]; checks: Check[]; notes: string[]; loss: Record<string, { landed: number; lost: number; duplicated: number; late: number }> | null;
  lossBySymbol: { exchange: string; symbol: string; lost: number; duplicated: number; late: number }[];
  restore: { ok: boolean; attempts: number; error?: string };
};

const failureModes: Notebook<Options> = {
  name: "03-failure-modes",
  title: "Step 3: failure-mode tests",
  about: `Runs the six failure-mode tests lowest risk first: feed handler crash, Redpanda restart,
ClickHouse restart, offload failure, MinIO unavailable, network partition (any subset with --tests).
MTTR is measured from the fault's start and from its clearing; trades in each test's window are
classified landed, lost, duplicated or late; the fault is cleared on any exit and journalled first.
On the embedded default it runs on the lab: real containers for the feed handlers (the others are
stand-ins whose restart or failure is the analogue of the real one; the report says which).
Against a real stack it asks for confirmation, or --yes.`,
  options: {
    tests: { type: "string", arg: "list", help: `tests by name or number: ${MATRIX.map((t) => t.name).join(", ")}` },
    hold: { type: "string", default: "10s", arg: "time", help: "how long each fault holds (the partition: --partition)" },
    partition: { type: "string", default: "30s", arg: "time", help: "how long the network partition holds (the brief: 30 s)" },
    rate: { type: "string", default: "2x", arg: "rate", help: "lab: trade rate during the tests" },
    network: { type: "string", default: LAB_NET, arg: "name", help: "the network the partition test disconnects k2-clickhouse from (stack: e.g. k2-net)" },
    limit: { type: "string", default: "60s", arg: "time", help: "give up waiting for recovery this long after the fault cleared" },
    "dry-run": { type: "boolean", help: "print exactly what would be done to which container, and do nothing" },
    yes: { type: "boolean", help: "do not ask before injecting faults into a real stack" },
    "lab-fault": { type: "string", arg: "list", help: "lab: replayer faults too, offsets from the replay's start, e.g. drop:kraken@12s+2s" },
    "skip-health": { type: "boolean", help: "stack: do not run the health checks first (the report says so)" },
  },
  parse: (v) => ({
    tests: selectTests(v.tests as string | undefined), holdMs: parseDuration(String(v.hold), "--hold"), partitionMs: parseDuration(String(v.partition), "--partition"),
    rate: parseRate(String(v.rate), "--rate"), dryRun: !!v["dry-run"], yes: !!v.yes, network: String(v.network), limitMs: parseDuration(String(v.limit), "--limit"),
    explicit: !!v.tests, faults: v["lab-fault"] ? String(v["lab-fault"]).split(",").map(parseFault) : [], skipHealth: !!v["skip-health"],
  }),

  // ## Fetch: run the tests
  async fetch({ options: o, run, log, onAbort }) {
    const spec = targetFromEnv();
    const lab = spec.kind === "embedded";
    const probe = await probeDocker();
    const docker = "unreachable" in probe ? null : probe;
    // First of all: restore what an interrupted run left broken.
    const restored = docker ? await restoreJournal(docker, log) : [];
    if (o.dryRun) {
      for (const t of o.tests) console.log(plan(t, t.action === "disconnect" ? o.partitionMs : o.holdMs, o.network).join("\n"));
      throw new K2Error("dry run: nothing was done", 0);
    }
    // Asked by name for tests that need containers, with no engine: fail, naming DOCKER_HOST.
    if (!docker && o.explicit && o.tests.some((t) => !t.consumerHold)) await connectDocker();
    if (!lab) {
      if (!docker) await connectDocker(); // a stack's faults need Docker: the one-line error names DOCKER_HOST
      if (!o.yes) await confirm(o.tests);
    }
    const target = await connectClickHouse(spec);
    const health = lab ? { skipped: "the lab makes its own traffic: the health precondition applies to stacks" } : await requireHealthy(target, o.skipHealth, loadConfig());
    const results: Result[] = [];
    const skipped: { test: string; reason: string }[] = [];
    let env: LabEnv | null = null;
    try {
      env = lab ? await startLab(target, docker, o, log) : null;
      for (const t of o.tests) {
        if (!docker && (!lab || !t.consumerHold)) { skipped.push({ test: t.name, reason: `needs a Docker engine (${"unreachable" in probe ? probe.unreachable : ""})` }); continue; }
        log(`test ${t.id} ${t.name}: ${t.action} ${t.container}${docker ? "" : " (no Docker: the consumer hold only)"}`);
        results.push(await runTest(t, { target, docker, env, o, log, onAbort }));
      }
    } finally {
      await env?.stop();
    }
    await run.saveJson("results", results);
    await run.saveJson("meta", { restored, skipped, docker: docker ? docker.host : ("unreachable" in probe ? probe.unreachable : null) });
    return {
      parameters: { tests: o.tests.map((t) => t.name), hold: formatDuration(o.holdMs), partition: formatDuration(o.partitionMs), rate: o.rate, network: o.network, lab },
      target: { kind: target.kind, label: target.label, version: target.version }, health,
    };
  },

  // ## Render
  async render(doc, run) {
    const results = await run.json<Result[]>("results");
    const meta = await run.json<{ restored: any[]; skipped: { test: string; reason: string }[]; docker: string | null }>("meta");
    const lab = (run.manifest.parameters as any).lab;
    const health = (run.manifest as any).health;
    if (health?.skipped) doc.note("INFO", `Health precondition not run: ${health.skipped}.`);
    else if (health) doc.note(health.status, `Health precondition: ${health.summary}.`);
    if (meta.restored.length) for (const r of meta.restored) doc.note(r.ok ? "INFO" : "FAIL", `Before testing, restored what an interrupted run left: ${r.entry.container} was ${r.before} after ${r.entry.test} (${r.entry.action}); now ${r.after}${r.error ? ` (${r.error})` : ""}.`);
    if (!meta.docker || meta.skipped.length)
      doc.note("SKIPPED", `No Docker engine was reachable${meta.docker ? "" : ""}: ${meta.skipped.map((s) => s.test).join(", ") || "container actions"} skipped; the consumer-hold analogues ran without their container action. To enable: start Docker or set DOCKER_HOST.`);
    doc.md`## Results`;
    doc.table(results.map((r) => ({
      Test: `${r.id}. ${r.title}`, "Run Date": r.ranAt.replace("T", " ").slice(0, 19), Result: r.status,
      MTTR: r.mttrFromStartMs === null ? "not recovered" : `${(r.mttrFromClearMs! / 1000).toFixed(1)} s after clearing (${(r.mttrFromStartMs / 1000).toFixed(1)} s from the fault's start)`,
      Notes: [lab && r.analogue ? "lab analogue" : "", ...r.notes].filter(Boolean).join("; ") || "all checks passed",
    })), ["Test", "Run Date", "Result", "MTTR", "Notes"].map((k) => ({ key: k as "Test", label: k })), { caption: "The step file's table: MTTR from the fault's start (and from its clearing)", summary: true });
    const gate = results.filter((r) => r.mttrFromStartMs !== null).every((r) => r.mttrFromStartMs! < MILESTONE_MTTR_MS) && results.every((r) => r.mttrFromStartMs !== null);
    doc.fact("Milestone gate (every MTTR < 30 s)", results.length ? (gate ? "PASS" : `FAIL: ${results.filter((r) => r.mttrFromStartMs === null || r.mttrFromStartMs >= MILESTONE_MTTR_MS).map((r) => r.test).join(", ")}`) : "NOT RUN");
    if (results.length)
      doc.figure({
        height: 40 + 30 * results.length, marginLeft: 170, x: { label: "seconds to recover after clearing the fault", grid: true, type: "log" }, y: { label: null, domain: results.map((r) => r.title) },
        marks: [
          // bars from 1 s: a log scale has no zero
          Plot.barX(results.filter((r) => r.mttrFromClearMs !== null), { y: "title", x1: 0.1, x2: (r: Result) => Math.max(0.1, r.mttrFromClearMs! / 1000), fill: (r: Result) => (r.status === "PASS" ? "#1a7f37" : "#cf222e") }),
          Plot.tickX(results, { y: "title", x: (r: Result) => r.targetMs / 1000, stroke: "#1b1f24", strokeWidth: 2 }),
          Plot.ruleX([MILESTONE_MTTR_MS / 1000], { stroke: "#9a6700", strokeDasharray: "4,3" }),
        ],
      }, "Recovery after clearing per test (bars) against its target (black ticks) and the 30 s milestone gate (dashed).");
    for (const r of results) {
      doc.md`### ${r.id}. ${r.title}: ${r.status}`;
      if (lab && r.analogue) doc.note("INFO", `Ran as a lab analogue: ${r.analogue}.`);
      const flow = r.ticks.flatMap((k) => Object.entries(k.flow).map(([exchange, n]) => ({ s: k.t / 1000, exchange, n })));
      doc.figure({
        height: 170, marginLeft: 45, x: { label: "seconds since the fault started" }, y: { label: "trades landed / s", grid: true }, color: { legend: true },
        marks: [
          Plot.rectX([{ a: 0, b: r.clearedAt / 1000 }], { x1: "a", x2: "b", fill: "#cf222e", fillOpacity: 0.1 }),
          Plot.lineY(flow, { x: "s", y: "n", stroke: "exchange" }),
          ...(r.recoveredAt !== null ? [Plot.ruleX([r.recoveredAt / 1000], { stroke: "#1a7f37", strokeWidth: 2 }), Plot.text([r.recoveredAt / 1000], { x: (d: number) => d, frameAnchor: "top", dx: 4, textAnchor: "start", text: () => "recovered" })] : []),
          Plot.ruleY([0]),
        ],
      }, `Flow per exchange at 1 s; shaded: the fault (${r.action} ${r.container}); green: recovery.`);
      doc.table(r.checks, [{ key: "name", label: "Check" }, { key: "status", label: "Status" }, { key: "detail", label: "Detail" }]);
      if (r.loss) doc.table(Object.entries(r.loss).map(([exchange, l]) => ({ exchange, ...l })), [
        { key: "exchange", label: "Exchange" }, { key: "landed", label: "Landed", align: "right" }, { key: "lost", label: "Lost", align: "right" },
        { key: "duplicated", label: "Duplicated", align: "right" }, { key: "late", label: "Late", align: "right" },
      ], { caption: "Every trade generated in the test's window, classified against the lab's ground truth" });
      if (r.lossBySymbol?.length) doc.table(r.lossBySymbol, [
        { key: "exchange", label: "Exchange" }, { key: "symbol", label: "Symbol" }, { key: "lost", label: "Lost", align: "right" },
        { key: "duplicated", label: "Duplicated", align: "right" }, { key: "late", label: "Late", align: "right" },
      ], { caption: "Symbols with any trade not landed once and on time" });
      if (!r.restore.ok) doc.note("FAIL", `The fault could not be cleared after ${r.restore.attempts} attempts (${r.restore.error}): check ${r.container} by hand.`);
    }
    const failed = results.some((r) => r.status === "FAIL");
    return {
      failed,
      summary: [
        `failure modes: ${results.map((r) => `${r.id} ${r.status}`).join(", ")}${meta.skipped.length ? `; skipped: ${meta.skipped.map((s) => s.test).join(", ")}` : ""}`,
        ...results.map((r) => `  ${r.id}. ${r.test.padEnd(19)} ${r.status.padEnd(5)} MTTR ${r.mttrFromStartMs === null ? "–" : `${(r.mttrFromClearMs! / 1000).toFixed(1)} s after clearing (${(r.mttrFromStartMs / 1000).toFixed(1)} s from start)`}${r.notes.length ? ` · ${r.notes.join("; ")}` : ""}`.slice(0, 220)),
      ],
    };
  },
};

// ## The lab while the tests run: a continuous replay through the handler containers, and the offload job
type LabEnv = { control: { paused: boolean; stop: boolean }; offload: LabOffload; stop(): Promise<void> };
async function startLab(t: Target, docker: DockerTarget | null, o: Options, log: (m: string) => void): Promise<LabEnv> {
  const conduits = docker ? await ensureLabStack(docker) : undefined;
  await resetLab(t, t.database);
  const control = { paused: false, stop: false };
  const replaying = replay(t, { ratePerSec: o.rate, durationMs: 6 * 3_600_000, seed: 7, delay: parseDelay("lognormal:20ms,0.5"), flushMs: 100, conduits, control, database: t.database, faults: o.faults });
  const offload = await new LabOffload(t, docker, 3000).setup();
  offload.start();
  log(`lab running: ${o.rate} msg/s through ${conduits ? "the handler containers" : "the in-process replayer (no Docker)"}, offload every 3 s`);
  await Bun.sleep(4000);
  return { control, offload, stop: async () => { control.stop = true; offload.stop(); await replaying; conduits?.close(); } };
}

type Ctx = { target: Target; docker: DockerTarget | null; env: LabEnv | null; o: Options; log: (m: string) => void; onAbort: (c: () => Promise<void>) => void };

async function runTest(t: TestSpec, c: Ctx): Promise<Result> {
  const { target, docker, env, o } = c;
  const silverNow = async (from: number, to: number) => {
    const rows = await target.query<{ exchange: string; n: number }>(`SELECT toString(exchange) AS exchange, count() AS n FROM ${target.database}.silver_trades
      WHERE processed_at >= fromUnixTimestamp64Milli(toInt64(${Math.floor(from)})) AND processed_at < fromUnixTimestamp64Milli(toInt64(${Math.floor(to)})) GROUP BY exchange`);
    return Object.fromEntries(EXCHANGE_NAMES.map((e) => [e, Number(rows.find((r) => r.exchange === e)?.n ?? 0)]));
  };
  const containerOk = async () => {
    if (!docker) return true;
    const i = await docker.docker.getContainer(t.container).inspect().catch(() => undefined);
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
    base.push({ t: i * 1000 - 5000, flow: await silverNow(now - 1000, now), containersOk: await containerOk() });
  }
  const rates = baselineRates(base, [...EXCHANGE_NAMES]);
  const dead = EXCHANGE_NAMES.filter((e) => rates[e] === 0);
  if (!base.every((k) => k.containersOk)) throw new K2Error(`test ${t.name} refused to start: unhealthy baseline (${t.container} is not running and healthy)`, EXIT.gate);
  if (dead.length) throw new K2Error(`test ${t.name} refused to start: unhealthy baseline (no trades landed from ${dead.join(", ")} in 5 s)`, EXIT.gate);

  // The fault: journalled first, cleared whatever happens.
  const entry: JournalEntry = { test: t.name, container: t.container, action: t.action, network: t.action === "disconnect" ? o.network : undefined, at: new Date().toISOString(), pid: process.pid };
  const holdMs = t.action === "disconnect" ? o.partitionMs : o.holdMs;
  let cleared = false, restore = { ok: true, attempts: 0 } as Result["restore"];
  const clear = async () => {
    if (cleared) return;
    cleared = true;
    if (env && t.consumerHold) env.control.paused = false;
    if (docker) restore = await clearWithRetry(docker, entry);
  };
  c.onAbort(clear);
  const faultStart = Date.now();
  const ticks: Tick[] = base.map((k) => ({ ...k }));
  const watermarkBefore = env ? await lastSuccess(target) : null;
  try {
    if (docker) { await journalAdd(entry); await applyFault(docker, entry); }
    if (env && t.consumerHold) env.control.paused = true;
    const inEffect = Date.now() - faultStart; // a stop returns once the container is down
    let clearedAt = 0, recoveredAt: number | null = null;
    for (let s = 1; ; s++) {
      await Bun.sleep(Math.max(0, faultStart + s * 1000 - Date.now()));
      const now = Date.now();
      if (!cleared && now - faultStart >= holdMs) { await clear(); clearedAt = Date.now() - faultStart; }
      ticks.push({ t: now - faultStart, flow: await silverNow(now - 1000, now), containersOk: await containerOk() });
      if (cleared && recoveredAt === null) {
        const flowBack = recoveryAt(ticks.filter((k) => k.t >= 0), rates, t.exchange ? [t.exchange] : [...EXCHANGE_NAMES], clearedAt);
        const offloadBack = !t.offload || !env || env.offload.runs.some((r) => r.ok && r.at - faultStart > clearedAt);
        if (flowBack !== null && offloadBack) recoveredAt = Math.max(flowBack, t.offload && env ? env.offload.runs.find((r) => r.ok && r.at - faultStart > clearedAt)!.at - faultStart : 0);
      }
      if (recoveredAt !== null && now - faultStart > recoveredAt + 2000) break;
      if (cleared && now - faultStart > clearedAt + o.limitMs) break;
    }
    const checks = await testChecks(t, c, ticks, rates, faultStart, inEffect, clearedAt, recoveredAt, watermarkBefore, holdMs);
    const v = testVerdict(t.targetMs, 0, clearedAt, recoveredAt, checks.checks);
    return {
      test: t.name, id: t.id, title: t.title, container: t.container, action: t.action, analogue: env ? t.analogue : null, ranAt: new Date(faultStart).toISOString(), status: v.status,
      faultStart, clearedAt, recoveredAt, mttrFromStartMs: v.mttrFromStartMs, mttrFromClearMs: v.mttrFromClearMs, targetMs: t.targetMs, ticks, checks: checks.checks, notes: v.notes, loss: checks.loss, lossBySymbol: checks.lossBySymbol, restore,
    };
  } finally {
    await clear();
  }
}

async function lastSuccess(t: Target): Promise<string | null> {
  const [r] = await t.query<{ ts: string | null }>(`SELECT toString(max(last_offload_timestamp)) AS ts FROM ${t.database}.offload_watermarks WHERE status = 'success'`);
  return r?.ts ?? null;
}

/** The pass checks of a test: loss classification, gaps, isolation, watermarks. */
async function testChecks(t: TestSpec, c: Ctx, ticks: Tick[], rates: Record<string, number>, faultStart: number, inEffect: number, clearedAt: number, recoveredAt: number | null, wmBefore: string | null, holdMs: number) {
  const { target, env } = c;
  const checks: Check[] = [];
  const db = target.database;
  const from = faultStart - 5000, to = faultStart + (recoveredAt ?? clearedAt) + 2000;
  const ms = (x: number) => `fromUnixTimestamp64Milli(toInt64(${Math.floor(x)}))`;
  // Jepsen-style: every trade generated in the window, against the lab's ground truth.
  let loss: Result["loss"] = null, lossBySymbol: Result["lossBySymbol"] = [];
  if (env) {
    const bySymbol = await target.query<{ exchange: string; symbol: string; landed: number; lost: number; duplicated: number; late: number; handler_down: number }>(`
      SELECT exchange, symbol, countIf(n = 1 AND NOT is_late) AS landed, countIf(n = 0) AS lost, countIf(n > 1) AS duplicated, countIf(n = 1 AND is_late) AS late, countIf(status = 'handler_down') AS handler_down
      FROM (SELECT t.exchange AS exchange, t.symbol AS symbol, toString(t.status) AS status, ifNull(s.n, 0) AS n, t.exchange_ts < ${ms(faultStart + clearedAt)} AND ifNull(s.late_landing, false) AS is_late
            FROM (SELECT toString(exchange) AS exchange, symbol, sequence_number, status, exchange_ts FROM k2lab.sent WHERE exchange_ts >= ${ms(from)} AND exchange_ts < ${ms(to)}) AS t
            LEFT JOIN (SELECT toString(exchange) AS exchange, symbol, source_sequence AS seq, count() AS n, max(processed_at) > ${ms(faultStart + clearedAt + 1000)} AS late_landing
                       FROM ${db}.silver_trades GROUP BY exchange, symbol, seq) AS s ON s.exchange = t.exchange AND s.symbol = t.symbol AND s.seq = t.sequence_number)
      GROUP BY exchange, symbol ORDER BY exchange, symbol`);
    // Classified per exchange and symbol; summed per exchange for the checks and the table.
    const rows = EXCHANGE_NAMES.map((e) => bySymbol.filter((r) => r.exchange === e).reduce((a, r) => ({ exchange: e, landed: a.landed + Number(r.landed), lost: a.lost + Number(r.lost), duplicated: a.duplicated + Number(r.duplicated), late: a.late + Number(r.late), handler_down: a.handler_down + Number(r.handler_down) }), { exchange: e, landed: 0, lost: 0, duplicated: 0, late: 0, handler_down: 0 }));
    lossBySymbol = bySymbol.filter((r) => Number(r.lost) || Number(r.duplicated) || Number(r.late)).map((r) => ({ exchange: r.exchange, symbol: r.symbol, lost: Number(r.lost), duplicated: Number(r.duplicated), late: Number(r.late) }));
    loss = Object.fromEntries(rows.map((r) => [r.exchange, { landed: Number(r.landed), lost: Number(r.lost), duplicated: Number(r.duplicated), late: Number(r.late) }]));
    const lostElsewhere = rows.filter((r) => r.exchange !== t.exchange && Number(r.lost) > 0);
    const dup = rows.reduce((a, r) => a + Number(r.duplicated), 0);
    if (t.exchange) {
      const r = rows.find((x) => x.exchange === t.exchange);
      checks.push({ name: `${t.exchange} loss only while its handler was down`, status: r && Number(r.lost) === Number(r.handler_down) ? "PASS" : "FAIL", detail: `${r?.lost ?? 0} lost, ${r?.handler_down ?? 0} refused by the stopped handler` });
    }
    checks.push({ name: t.exchange ? "no loss on the other exchanges" : "no trade lost", status: lostElsewhere.length ? "FAIL" : "PASS", detail: lostElsewhere.map((r) => `${r.exchange} ${r.lost} lost`).join(", ") || "0 lost" });
    checks.push({ name: "no duplicates", status: dup ? "FAIL" : "PASS", detail: `${dup} duplicated` });
  } else checks.push({ name: "loss by ground truth", status: "NOT CHECKED", detail: "no ground truth outside the lab" });

  // The largest gap in ingestion per exchange, over the test's window.
  const gaps = await target.query<{ exchange: string; gap_s: number }>(`SELECT toString(exchange) AS exchange, max(d) / 1e6 AS gap_s FROM (
      SELECT exchange, dateDiff('microsecond', lagInFrame(processed_at) OVER (PARTITION BY exchange ORDER BY processed_at ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), processed_at) AS d, row_number() OVER (PARTITION BY exchange ORDER BY processed_at) AS rn
      FROM ${db}.silver_trades WHERE processed_at >= ${ms(from)} AND processed_at < ${ms(to)}) WHERE rn > 1 GROUP BY exchange ORDER BY exchange`);
  // The brief's recovery check is "no gap > 30 s in ingestion"; a fault that stops ingestion on purpose
  // opens a gap as long as itself, so the limit is 30 s beyond the fault's own length.
  const worstGap = gaps.reduce((a, g) => Math.max(a, Number(g.gap_s)), 0), limit = 30 + holdMs / 1000;
  checks.push({ name: "largest gap in ingestion ≤ 30 s beyond the fault", status: worstGap > limit ? "FAIL" : "PASS", detail: `${gaps.map((g) => `${g.exchange} ${Number(g.gap_s).toFixed(1)} s`).join(", ")} (fault held ${formatDuration(holdMs)})` });

  // Isolation: a one-exchange fault leaves the others' rate within [0.5, 1.5] of baseline; the offload faults leave the hot tier alone.
  if (t.exchange || t.offload) {
    const others = EXCHANGE_NAMES.filter((e) => e !== t.exchange);
    const iso = isolation(ticks, rates, others, 0, clearedAt);
    checks.push({ name: t.exchange ? "other exchanges keep flowing" : "hot tier unaffected", status: iso.every((x) => x.ok) ? "PASS" : "FAIL", detail: iso.map((x) => `${x.exchange} ${x.ratio.toFixed(2)}x of baseline`).join(", ") });
  }
  if (t.name === "clickhouse-restart") {
    const [g] = await target.query<{ silver: number; gold: number }>(`SELECT (SELECT count() FROM ${db}.silver_trades WHERE is_valid) AS silver, (SELECT sum(trade_count) FROM ${db}.ohlcv_1m) AS gold`);
    checks.push({ name: "no silver/gold gap", status: Number(g!.silver) === Number(g!.gold) ? "PASS" : "FAIL", detail: `silver ${g!.silver}, gold 1m trade_count ${g!.gold}` });
  }
  if (t.offload && env) {
    const during = env.offload.runs.filter((r) => r.at >= faultStart + inEffect && r.at < faultStart + clearedAt);
    const advanced = during.filter((r) => r.ok);
    checks.push({ name: "watermark not advanced while the fault held", status: during.length && !advanced.length ? "PASS" : during.length ? "FAIL" : "NOT CHECKED", detail: `${during.length} runs during the fault, ${during.filter((r) => !r.ok).length} failed (${[...new Set(during.filter((r) => !r.ok).map((r) => r.reason))].join("; ")}); watermark before ${wmBefore ?? "none"}` });
    const next = env.offload.runs.find((r) => r.ok && r.at - faultStart > clearedAt);
    checks.push({ name: "next offload succeeded", status: next ? "PASS" : "FAIL", detail: next ? `${formatDuration(next.at - faultStart - clearedAt)} after clearing, ${next.rows} rows` : "no successful run after clearing" });
    await env.offload.runOnce(); // settle, then check exactly-once over everything offloaded so far
    const [x] = await target.query<{ cold: number; distinct_cold: number; expected: number }>(exactlyOnceSql(db));
    const once = Number(x!.cold) === Number(x!.distinct_cold) && Number(x!.cold) === Number(x!.expected);
    checks.push({ name: "offloaded exactly once", status: once ? "PASS" : "FAIL", detail: `${x!.cold} cold rows, ${x!.distinct_cold} distinct, ${x!.expected} silver rows up to the watermark` });
  } else if (t.offload) checks.push({ name: "watermark", status: "NOT CHECKED", detail: "the lab's offload job needs the lab" });
  return { checks, loss, lossBySymbol };
}

async function confirm(tests: TestSpec[]) {
  if (!process.stdin.isTTY) throw usageError("refusing to inject faults into a real stack without --yes (no terminal to ask on)");
  process.stdout.write(`About to ${tests.map((t) => `${t.action} ${t.container}`).join(", ")} on the real stack. Type yes to go on: `);
  for await (const line of console) {
    if (line.trim() === "yes") return;
    throw new K2Error("not confirmed: nothing was done", EXIT.usage);
  }
}

if (import.meta.main) await main(failureModes);
export default failureModes;
