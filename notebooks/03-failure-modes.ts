// # Step 3: the six failure-mode tests
//
// Lowest risk first (the brief's order). Each test takes a baseline, injects its fault
// through dockerode, watches flow per exchange at 1 s, clears the fault, and measures the
// time to recovery from the fault's start and from its clearing. Every trade in the window
// is classified landed, lost, duplicated or late. A fault in flight is journalled first and
// cleared on any exit; the next run restores what a killed one left broken.
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import { targetFromEnv, connectClickHouse } from "../lib/io/clickhouse.ts";
import { probeDocker, connectDocker } from "../lib/io/docker.ts";
import { LAB_NET } from "../lib/lab/stack.ts";
import { parseFault, type Fault } from "../lib/lab/traffic.ts";
import { MATRIX, selectTests, plan, restoreJournal, journalPath, type TestSpec } from "../lib/failure/matrix.ts";
import { relative } from "node:path";
import { startLabEnv, runTest, type LabEnv } from "../lib/failure/run.ts";
import { failureVerdict, type FailureFetched, type FailureMeta, type Result } from "../lib/failure/summary.ts";
import { describePrecondition } from "../lib/health/summary.ts";
import { discoverWithObservation, silverOf } from "../lib/k2/discovery.ts";
import { formatDuration } from "../lib/runtime/units.ts";
import { K2Error, EXIT, usageError } from "../lib/runtime/errors.ts";
import { requireHealthy } from "../lib/health/run.ts";
import { loadConfig, type K2Config } from "../lib/k2/config.ts";
import { Plot } from "../lib/report/plot.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";
import * as opt from "../lib/runtime/options.ts";

type Options = {
  skipHealth: boolean;
  tests: TestSpec[];
  explicit: boolean;
  holdMs: number;
  partitionMs: number;
  rate: number;
  dryRun: boolean;
  yes: boolean;
  network: string;
  limitMs: number;
  faults: Fault[];
  config: K2Config;
};
const failureModes: Notebook<Options, FailureFetched> = {
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
    hold: {
      type: "string",
      default: "10s",
      arg: "time",
      help: "how long each fault holds (the partition: --partition)",
    },
    partition: {
      type: "string",
      default: "30s",
      arg: "time",
      help: "how long the network partition holds (the brief: 30 s)",
    },
    rate: { type: "string", default: "2x", arg: "rate", help: "lab: trade rate during the tests" },
    network: {
      type: "string",
      default: LAB_NET,
      arg: "name",
      help: "the network the partition test disconnects k2-clickhouse from (stack: e.g. k2-net)",
    },
    limit: {
      type: "string",
      default: "60s",
      arg: "time",
      help:
        "give up waiting for recovery this long after the fault cleared (offload tests on a stack wait for the " +
        "next scheduled run: their target + 1 min)",
    },
    "dry-run": { type: "boolean", help: "print exactly what would be done to which container, and do nothing" },
    yes: { type: "boolean", help: "do not ask before injecting faults into a real stack" },
    "lab-fault": {
      type: "string",
      arg: "list",
      help: "lab: replayer faults too, offsets from the replay's start, e.g. drop:kraken@12s+2s",
    },
    "skip-health": { type: "boolean", help: "stack: do not run the health checks first (the report says so)" },
  },
  parse: (v) => ({
    tests: selectTests(v.tests as string | undefined),
    holdMs: opt.duration(v, "hold"),
    partitionMs: opt.duration(v, "partition"),
    rate: opt.rate(v, "rate"),
    dryRun: !!v["dry-run"],
    yes: !!v.yes,
    network: String(v.network),
    limitMs: opt.duration(v, "limit"),
    explicit: !!v.tests,
    faults: opt.list(v, "lab-fault", parseFault),
    skipHealth: !!v["skip-health"],
    config: loadConfig(),
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
      for (const t of o.tests)
        console.log(plan(t, t.action === "disconnect" ? o.partitionMs : o.holdMs, o.network).join("\n"));
      throw new K2Error("dry run: nothing was done", 0);
    }
    // Asked by name for tests that need containers, with no engine: fail, naming DOCKER_HOST.
    if (!docker && o.explicit && o.tests.some((t) => !t.consumerHold)) await connectDocker();
    if (!lab) {
      if (!docker) await connectDocker(); // a stack's faults need Docker: the one-line error names DOCKER_HOST
      if (!o.yes) await confirm(o.tests);
    }
    const target = await connectClickHouse(spec);
    const health = lab
      ? { skipped: "the lab makes its own traffic: the health precondition applies to stacks" }
      : await requireHealthy(target, o.skipHealth, o.config);
    const results: Result[] = [];
    const skipped: { test: string; reason: string }[] = [];
    let env: LabEnv | null = null;
    try {
      env = lab ? await startLabEnv(target, docker, o, log) : null;
      // Silver's columns by discovery, as every notebook reads them (on the lab, once its schema exists).
      const silver = silverOf(await discoverWithObservation(target, target.database, o.config));
      const runOptions = { ...o, prefectDbUrl: process.env.PREFECT_DB_URL?.trim() || undefined };
      for (const t of o.tests) {
        if (!docker && (!lab || !t.consumerHold)) {
          skipped.push({
            test: t.name,
            reason: `needs a Docker engine (${"unreachable" in probe ? probe.unreachable : ""})`,
          });
          continue;
        }
        const stuck = results.find((r) => !r.restore.ok);
        if (stuck) {
          skipped.push({
            test: t.name,
            reason: `not run: ${stuck.container} could not be restored after ${stuck.test}`,
          });
          continue;
        }
        log(
          `test ${t.id} ${t.name}: ${t.action} ${t.container}${docker ? "" : " (no Docker: the consumer hold only)"}`,
        );
        results.push(await runTest(t, { target, docker, env, silver, o: runOptions, onAbort }));
      }
    } finally {
      await env?.stop();
    }
    await run.saveJson("results", results);
    await run.saveJson("meta", {
      restored,
      skipped,
      docker: docker ? docker.host : "unreachable" in probe ? probe.unreachable : null,
    });
    return {
      parameters: {
        tests: o.tests.map((t) => t.name),
        hold: formatDuration(o.holdMs),
        partition: formatDuration(o.partitionMs),
        rate: o.rate,
        network: o.network,
        lab,
      },
      target: { kind: target.kind, label: target.label, version: target.version },
      health,
    };
  },

  // ## Render
  async render(doc, run) {
    const results = await run.json<Result[]>("results");
    const meta = await run.json<FailureMeta>("meta");
    const lab = run.manifest.parameters.lab;
    const pre = describePrecondition(run.manifest.health);
    if (pre) doc.note(pre.status, pre.text);
    if (meta.restored.length)
      for (const r of meta.restored)
        doc.note(
          r.ok ? "INFO" : "FAIL",
          `Before testing, restored what an interrupted run left: ${r.entry.container} was ${r.before} after ` +
            `${r.entry.test} (${r.entry.action}); now ${r.after}${r.error ? ` (${r.error})` : ""}.`,
        );
    if (!meta.docker)
      doc.note(
        "SKIPPED",
        `No Docker engine was reachable: ${meta.skipped.map((s) => s.test).join(", ") || "container actions"} ` +
          `skipped; the consumer-hold analogues ran without their container action. To enable: start Docker or set ` +
          `DOCKER_HOST.`,
      );
    else for (const s of meta.skipped) doc.note("SKIPPED", `${s.test}: ${s.reason}.`);
    doc.md`## Results`;
    doc.table(
      results.map((r) => ({
        Test: `${r.id}. ${r.title}`,
        "Run Date": r.ranAt.replace("T", " ").slice(0, 19),
        Result: r.status,
        MTTR:
          r.mttrFromStartMs === null
            ? "not recovered"
            : `${(r.mttrFromClearMs! / 1000).toFixed(1)} s after clearing (${(r.mttrFromStartMs / 1000).toFixed(1)} ` +
              `s from the fault's start)`,
        Notes: [lab && r.analogue ? "lab analogue" : "", ...r.notes].filter(Boolean).join("; ") || "all checks passed",
      })),
      ["Test", "Run Date", "Result", "MTTR", "Notes"].map((k) => ({ key: k as "Test", label: k })),
      { caption: "The step file's table: MTTR after clearing the fault (and from its start)", summary: true },
    );
    const { gate, failed } = failureVerdict(results);
    doc.fact(
      `Milestone gate (every MTTR < ${formatDuration(THRESHOLDS.milestoneMttrMs)} after clearing)`,
      gate.over.length ? `FAIL: ${gate.over.join(", ")}` : gate.status,
    );
    if (results.length)
      doc.figure(
        {
          height: 40 + 30 * results.length,
          marginLeft: 170,
          x: { label: "seconds to recover after clearing the fault", grid: true, type: "log" },
          y: { label: null, domain: results.map((r) => r.title) },
          marks: [
            // bars from 1 s: a log scale has no zero
            Plot.barX(
              results.filter((r) => r.mttrFromClearMs !== null),
              {
                y: "title",
                x1: 0.1,
                x2: (r: Result) => Math.max(0.1, r.mttrFromClearMs! / 1000),
                fill: (r: Result) => (r.status === "PASS" ? "#1a7f37" : "#cf222e"),
              },
            ),
            Plot.tickX(results, { y: "title", x: (r: Result) => r.targetMs / 1000, stroke: "#1b1f24", strokeWidth: 2 }),
            Plot.ruleX([THRESHOLDS.milestoneMttrMs / 1000], { stroke: "#9a6700", strokeDasharray: "4,3" }),
          ],
        },
        "Recovery after clearing per test (bars) against its target (black ticks) and the " +
          `${THRESHOLDS.milestoneMttrMs / 1000} s milestone gate (dashed).`,
      );
    for (const r of results) {
      doc.md`### ${r.id}. ${r.title}: ${r.status}`;
      if (lab && r.analogue) doc.note("INFO", `Ran as a lab analogue: ${r.analogue}.`);
      const flow = r.ticks.flatMap((k) =>
        Object.entries(k.flow).map(([exchange, n]) => ({ s: k.t / 1000, exchange, n })),
      );
      doc.figure(
        {
          height: 170,
          marginLeft: 45,
          x: { label: "seconds since the fault started" },
          y: { label: "trades landed / s", grid: true },
          color: { legend: true },
          marks: [
            Plot.rectX([{ a: 0, b: r.clearedAt / 1000 }], { x1: "a", x2: "b", fill: "#cf222e", fillOpacity: 0.1 }),
            Plot.lineY(flow, { x: "s", y: "n", stroke: "exchange" }),
            ...(r.recoveredAt !== null
              ? [
                  Plot.ruleX([r.recoveredAt / 1000], { stroke: "#1a7f37", strokeWidth: 2 }),
                  Plot.text([r.recoveredAt / 1000], {
                    x: (d: number) => d,
                    frameAnchor: "top",
                    dx: 4,
                    textAnchor: "start",
                    text: () => "recovered",
                  }),
                ]
              : []),
            Plot.ruleY([0]),
          ],
        },
        `Flow per exchange at 1 s; shaded: the fault (${r.action} ${r.container}); green: recovery.`,
      );
      doc.table(r.checks, [
        { key: "name", label: "Check" },
        { key: "status", label: "Status" },
        { key: "detail", label: "Detail" },
      ]);
      if (r.loss)
        doc.table(
          Object.entries(r.loss).map(([exchange, l]) => ({ exchange, ...l })),
          [
            { key: "exchange", label: "Exchange" },
            { key: "landed", label: "Landed", align: "right" },
            { key: "lost", label: "Lost", align: "right" },
            { key: "duplicated", label: "Duplicated", align: "right" },
            { key: "late", label: "Late", align: "right" },
          ],
          { caption: `Every trade in the test's window, classified ${r.lossHow ?? "against the lab's ground truth"}` },
        );
      if (r.lossBySymbol?.length)
        doc.table(
          r.lossBySymbol,
          [
            { key: "exchange", label: "Exchange" },
            { key: "symbol", label: "Symbol" },
            { key: "lost", label: "Lost", align: "right" },
            { key: "duplicated", label: "Duplicated", align: "right" },
            { key: "late", label: "Late", align: "right" },
          ],
          { caption: "Symbols with any trade not landed once and on time" },
        );
      if (!r.restore.ok)
        doc.note(
          "FAIL",
          `The fault could not be cleared after ${r.restore.attempts} attempts (${r.restore.error}): check ` +
            `${r.container} by hand.`,
        );
    }
    const stuck = results.find((r) => !r.restore.ok);
    return {
      failed,
      error:
        stuck &&
        new K2Error(
          `${stuck.container} was left ${stuck.action === "disconnect" ? "disconnected" : "stopped"} by ` +
            `${stuck.test}: clearing failed ${stuck.restore.attempts} times (${stuck.restore.error}); once Docker ` +
            `answers, run this notebook again (it restores from ` +
            `${relative(process.cwd(), journalPath()) || journalPath()} first) or fix it by hand`,
          EXIT.unreachable,
        ),
      summary: [
        `failure modes: ${results.map((r) => `${r.id} ${r.status}`).join(", ")}` +
          (meta.skipped.length ? `; skipped: ${meta.skipped.map((s) => s.test).join(", ")}` : "") +
          `; milestone gate ${gate.status}`,
        ...results.map((r) =>
          (
            `  ${r.id}. ${r.test.padEnd(19)} ${r.status.padEnd(5)} MTTR ${mttrText(r)}` +
            (r.notes.length ? ` · ${r.notes.join("; ")}` : "")
          ).slice(0, 220),
        ),
      ],
    };
  },
};

async function confirm(tests: TestSpec[]) {
  if (!process.stdin.isTTY)
    throw usageError("refusing to inject faults into a real stack without --yes (no terminal to ask on)");
  process.stdout.write(
    `About to ${tests.map((t) => `${t.action} ${t.container}`).join(", ")} on the real stack. Type yes to go on: `,
  );
  for await (const line of console) {
    if (line.trim() === "yes") return;
    throw new K2Error("not confirmed: nothing was done", EXIT.usage);
  }
}

const mttrText = (r: { mttrFromStartMs: number | null; mttrFromClearMs: number | null }) =>
  r.mttrFromStartMs === null
    ? "–"
    : `${seconds(r.mttrFromClearMs!)} s after clearing (${seconds(r.mttrFromStartMs)} s from start)`;
const seconds = (ms: number) => (ms / 1000).toFixed(1);

if (import.meta.main) await main(failureModes);
export default failureModes;
