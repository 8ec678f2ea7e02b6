// # Step 3: the six failure-mode tests
//
// Lowest risk first (the brief's order). Each test takes a baseline, injects its fault
// through dockerode, watches flow per exchange at 1 s, clears the fault, and measures the
// time to recovery from the fault's start and from its clearing. Every trade in the window
// is classified landed, lost, duplicated or late. A fault in flight is journalled first and
// cleared on any exit; the next run restores what a killed one left broken.

import { relative } from "node:path";
import { MATRIX, plan, selectTests, type TestSpec } from "../lib/failure/matrix.ts";
import { alertsSection, contextNotes, resultsSection, testSection } from "../lib/failure/report.ts";
import { failureLab, type LabEnv, labEnvOf, runTests } from "../lib/failure/run.ts";
import {
  type AlertsSeen,
  type FailureFetched,
  type FailureMeta,
  failureVerdict,
  type Result,
  type Skipped,
} from "../lib/failure/summary.ts";
import { restoreJournal } from "../lib/faults/docker.ts";
import { journalPath } from "../lib/faults/journal.ts";
import { requireHealthy } from "../lib/health/run.ts";
import { describePrecondition } from "../lib/health/summary.ts";
import { connectClickHouse, isLab, targetFromEnv } from "../lib/io/clickhouse.ts";
import { connectDocker, probeDocker } from "../lib/io/docker.ts";
import { prefectUrl } from "../lib/io/prefect.ts";
import { alertsFired, connectPrometheus, prometheusUrlFromEnv } from "../lib/io/prometheus.ts";
import { type K2Config, loadConfig } from "../lib/k2/config.ts";
import { discoverWithObservation, silverOf } from "../lib/k2/discovery.ts";
import { clickhouseNetwork } from "../lib/k2/network.ts";
import { OFFLOAD_FLOW_DEPLOYMENT } from "../lib/k2/stack.ts";
import { startLabRig } from "../lib/lab/rig.ts";
import { LAB_NET } from "../lib/lab/stack.ts";
import { type Fault, parseFault } from "../lib/lab/traffic.ts";
import { confirm } from "../lib/runtime/confirm.ts";
import { EXIT, K2Error } from "../lib/runtime/errors.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";
import { formatDuration } from "../lib/runtime/units.ts";

type Options = {
  skipHealth: boolean;
  startOffloadRuns: boolean;
  tests: TestSpec[];
  explicit: boolean;
  holdMs: number;
  partitionMs: number;
  rate: number;
  dryRun: boolean;
  yes: boolean;
  /** --network: else the lab's, or on a stack the one k2-clickhouse is attached to */
  network: string | undefined;
  limitMs: number;
  faults: Fault[];
  config: K2Config;
};
/** The options, each declared with its normaliser (lib/runtime/options.ts). */
const OPTIONS = {
  tests: opt.optionalText(`tests by name or number: ${MATRIX.map((t) => t.name).join(", ")}`, "list"),
  hold: opt.duration("5s", "how long each fault holds (the partition: --partition)"),
  partition: opt.duration("30s", "how long the network partition holds (the brief: 30 s)"),
  rate: opt.rate("2x", "lab: trade rate during the tests"),
  network: opt.optionalText(
    `the network the partition test disconnects k2-clickhouse from (lab: ${LAB_NET}; stack: the one k2-clickhouse ` +
      "is on, e.g. k2-market-data-platform_k2-net)",
    "name",
  ),
  limit: opt.duration(
    "60s",
    "give up waiting for recovery this long after the fault cleared (offload tests on a stack wait for the " +
      "next scheduled run: their target + 1 min)",
  ),
  "dry-run": opt.flag("print exactly what would be done to which container, and do nothing"),
  yes: opt.flag("do not ask before injecting faults into a real stack"),
  "lab-fault": opt.list(
    parseFault,
    "lab: replayer faults too, offsets from the replay's start or from each test's fault, " +
      "e.g. drop:kraken@12s+2s, drop:kraken@fault+3s",
  ),
  "skip-health": opt.flag("stack: do not run the health checks first (the report says so)"),
  "start-offload-runs": opt.flag(
    `stack: the offload tests start runs of ${OFFLOAD_FLOW_DEPLOYMENT} through Prefect's API (PREFECT_API_URL), ` +
      "one while the fault holds and one after clearing, instead of waiting up to 15 min for the schedule",
  ),
};

const failureModes: Notebook<Options, FailureFetched, typeof OPTIONS> = {
  name: "03-failure-modes",
  title: "Step 3: failure-mode tests",
  about: `Runs the six failure-mode tests lowest risk first: feed handler crash, Redpanda restart,
ClickHouse restart, offload failure, MinIO unavailable, network partition (any subset with --tests).
MTTR is measured from the fault's start and from its clearing; trades in each test's window are
classified landed, lost, duplicated or late; the fault is cleared on any exit and journalled first.
On the embedded default it runs on the lab: real containers for the feed handlers (the others are
stand-ins whose restart or failure is the analogue of the real one; the report says which).
Against a real stack it asks for confirmation, or --yes.`,
  options: OPTIONS,
  parse: (v) => ({
    tests: selectTests(v.tests),
    holdMs: v.hold,
    partitionMs: v.partition,
    rate: v.rate,
    dryRun: v["dry-run"],
    yes: v.yes,
    network: v.network,
    limitMs: v.limit,
    explicit: v.tests !== undefined,
    faults: v["lab-fault"],
    skipHealth: v["skip-health"],
    startOffloadRuns: v["start-offload-runs"],
    config: loadConfig(),
  }),

  // ## Fetch: run the tests
  async fetch({ options: o, run, log, onAbort }) {
    const spec = targetFromEnv();
    const lab = isLab(spec);
    const probe = await probeDocker();
    const docker = "unreachable" in probe ? null : probe;
    // First of all: restore what an interrupted run left broken.
    const restored = docker ? await restoreJournal(docker, log) : [];
    const network = lab || !docker ? (o.network ?? LAB_NET) : await clickhouseNetwork(docker, o.network);
    if (o.dryRun) {
      for (const t of o.tests)
        console.log(plan(t, t.action === "disconnect" ? o.partitionMs : o.holdMs, network).join("\n"));
      throw new K2Error("dry run: nothing was done", 0);
    }
    // Asked by name for tests that need containers, with no engine: fail, naming DOCKER_HOST.
    if (!docker && o.explicit && o.tests.some((t) => !t.consumerHold)) await connectDocker();
    if (!lab) {
      if (!docker) await connectDocker(); // a stack's faults need Docker: the one-line error names DOCKER_HOST
      const runs = o.startOffloadRuns && o.tests.some((t) => t.offload);
      await confirm(
        `${o.tests.map((t) => `${t.action} ${t.container}`).join(", ")} on the real stack` +
          (runs ? ` and start runs of ${OFFLOAD_FLOW_DEPLOYMENT} through ${prefectUrl()}` : ""),
        o.yes,
        "inject faults into a real stack",
      );
    }
    const target = await connectClickHouse(spec);
    const health = lab
      ? { skipped: "the lab makes its own traffic: the health precondition applies to stacks" }
      : await requireHealthy(target, o.skipHealth, o.config);
    let results: Result[] = [];
    let skipped: Skipped[] = [];
    let env: LabEnv | null = null;
    try {
      env = lab ? await labEnvOf(await startLabRig(target, failureLab(docker, o)), log) : null;
      // Silver's columns by discovery, as every notebook reads them (on the lab, once its schema exists).
      const silver = silverOf(await discoverWithObservation(target, target.database, o.config));
      const prefect = { api: prefectUrl(), start: o.startOffloadRuns };
      const runOptions = { ...o, network, prefectDbUrl: process.env.PREFECT_DB_URL?.trim() || undefined, prefect };
      const noDocker = "unreachable" in probe ? probe.unreachable : null;
      ({ results, skipped } = await runTests(
        o.tests,
        { target, docker, env, silver, o: runOptions, onAbort, log },
        noDocker,
        log,
      ));
    } finally {
      await env?.stop();
    }
    await run.saveJson("results", results);
    await run.saveJson("meta", {
      restored,
      skipped,
      docker: docker ? docker.host : "unreachable" in probe ? probe.unreachable : null,
      alerts: await alertsSeen(results),
    });
    return {
      parameters: {
        tests: o.tests.map((t) => t.name),
        hold: formatDuration(o.holdMs),
        partition: formatDuration(o.partitionMs),
        rate: o.rate,
        network,
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
    contextNotes(doc, meta);
    resultsSection(doc, results, lab);
    const { gate, failed } = failureVerdict(results);
    alertsSection(doc, results, meta.alerts);
    for (const r of results) testSection(doc, r, lab);
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

const mttrText = (r: { mttrFromStartMs: number | null; mttrFromClearMs: number | null }) =>
  r.mttrFromStartMs === null
    ? "–"
    : `${seconds(r.mttrFromClearMs!)} s after clearing (${seconds(r.mttrFromStartMs)} s from start)`;
const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** From the Prometheus at PROMETHEUS_URL (or the default when it answers): the alerts each test's fault set off. */
async function alertsSeen(results: Result[]): Promise<AlertsSeen> {
  const prom = prometheusUrlFromEnv();
  const api = await connectPrometheus(prom.url).catch((e: Error) => e);
  if (api instanceof Error) return { unavailable: `${api.message}; the alerts each test set off are not recorded` };
  const byTest: Record<string, { alert: string; afterMs: number }[]> = {};
  for (const r of results) {
    const fired = await alertsFired(api, r.faultStart, Date.now());
    // an alert already firing when the fault began shows at 0 s
    byTest[r.test] = fired.map((a) => ({ alert: a.alert, afterMs: Math.max(0, a.firstMs - r.faultStart) }));
  }
  return { prometheus: `Prometheus ${api.version} at ${prom.url}`, byTest };
}

if (import.meta.main) await main(failureModes);
export default failureModes;
