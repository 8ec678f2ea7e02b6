// # Step 1: end-to-end latency at 1x, 5x and 10x load
//
// For each load scenario: drive the load (the lab's replayer, or rpk inside k2-redpanda on a
// stack), then let the engine compute every trade's lag from the discovered columns, check
// for loss, and judge p99 against the scenario's target, honestly: a clock too coarse to
// decide gives UNRESOLVED, never PASS.

import { requireHealthy } from "../lib/health/run.ts";
import { describePrecondition } from "../lib/health/summary.ts";
import { connectClickHouse, isLab, type Target, targetFromEnv } from "../lib/io/clickhouse.ts";
import { connectDocker } from "../lib/io/docker.ts";
import { loadConfig } from "../lib/k2/config.ts";
import { discoverTradeTables } from "../lib/k2/discovery.ts";
import { KAFKA_ENGINE } from "../lib/k2/stack.ts";
import { delayOption } from "../lib/lab/random.ts";
import { startLabRig } from "../lib/lab/rig.ts";
import { LabTopics } from "../lib/lab/topics.ts";
import { parseFault } from "../lib/lab/traffic.ts";
import { latencyFacts } from "../lib/latency/facts.ts";
import { generatorLoad, rpkLoad } from "../lib/latency/load.ts";
import {
  compareRuns,
  copiesNote,
  floorSection,
  latencyFigures,
  perTableSection,
  resultsTable,
  segmentTable,
} from "../lib/latency/report.ts";
import { type Pipeline, runScenario, type ScenarioOptions } from "../lib/latency/run.ts";
import type { LatencyFetched, ScenarioRecord } from "../lib/latency/summary.ts";
import { type Scenario, scenarioByName } from "../lib/latency/verdict.ts";
import { fmt } from "../lib/report/document.ts";
import { confirm } from "../lib/runtime/confirm.ts";
import { usageError } from "../lib/runtime/errors.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";
import { labStackDir } from "../lib/runtime/paths.ts";
import { BASE_RATE, formatDuration } from "../lib/runtime/units.ts";

type Options = ScenarioOptions & {
  scenarios: Scenario[];
  tuning: string;
  skipHealth: boolean;
  labLoad: "generator" | "rpk";
  yes: boolean;
};

/** The options, each declared with its normaliser (lib/runtime/options.ts). */
const OPTIONS = {
  scenarios: opt.list(scenarioByName, "scenarios to run, any of 1x,5x,10x", "1x,5x,10x"),
  duration: opt.duration("20s", "load time per scenario (and the lab's 1x window)"),
  window: opt.duration("5m", "stack 1x: measure the last window (ending one flush interval ago)"),
  since: opt.isoTime("stack 1x: absolute window start, e.g. 2026-02-19T09:00:00Z"),
  until: opt.isoTime("stack 1x: absolute window end (default now)"),
  delay: delayOption("lognormal:40ms,0.5", "lab: injected exchange-to-handler delay"),
  flush: opt.duration(
    `${KAFKA_ENGINE.flushIntervalMs}ms`,
    "lab: the Kafka engine's flush interval (K2's kafka_flush_interval_ms); e.g. 100ms for a tuned run",
  ),
  seed: opt.number("1", "lab: random seed", 0, 2 ** 32 - 1),
  "lab-fault": opt.list(parseFault, "lab: faults in every scenario, e.g. drop:kraken@5s+2s"),
  "lab-coarse-silver": opt.flag("lab: build silver without processed_at (its only ingestion clock is second-granular)"),
  "load-cmd": opt.text(
    "rpk topic consume {topic} -o @{since}:{until} -n {n} -f '%v\\n' | rpk topic produce {topic}",
    "stack: load command run in k2-redpanda; {topic}, {n}, {seconds}, {since} and {until} (unix ms; {until} is the " +
      "load's start, so no trade of the measured window is replayed) are filled in",
    "sh",
  ),
  "lab-load": opt.keyword(
    "generator",
    ["generator", "rpk"],
    "lab: the 5x/10x load: the lab's generator (fresh trades), or the stack's rpk command in the lab's k2-redpanda",
  ),
  yes: opt.flag("stack: run the 5x/10x load without asking (it adds replayed copies of recent trades)"),
  tuning: opt.optionalText('what was tuned for this run (shown under "Tuning applied")', "text"),
  "skip-health": opt.flag("stack: do not run the health checks first (the report says so)"),
};

const latency: Notebook<Options, LatencyFetched, typeof OPTIONS> = {
  name: "01-latency",
  title: "Step 1: end-to-end latency benchmark",
  about: `Measures exchange-time to ingestion-time lag per exchange and symbol, in silver and in each
bronze table, for the load scenarios 1x (~50 msg/s, p99 < 200 ms), 5x (~250 msg/s, p99 < 500 ms)
and 10x (~500 msg/s, p99 < 1 s, no data loss). The engine computes every quantile over all rows.
One path for a stack and the lab: 1x measures the last window of the running traffic, 5x and 10x
run a load and measure its window, one Kafka flush interval (read from the schema) after it ends;
the achieved rate is what landed per second by landing time, a load's replayed copies counted
apart. On a stack the load is rpk inside k2-redpanda (--load-cmd; asks first, or --yes) and the
health checks run first. The lab (the embedded default) runs its traffic with K2's Kafka settings
(--flush), loads with its generator or, with --lab-load rpk, with the same rpk command in its
k2-redpanda, and checks loss against its ground truth beside the stack's sequence check.
With --gate, exits 6 unless every scenario PASSes (UNRESOLVED and NOT RUN do not pass).`,
  options: OPTIONS,
  parse: (v) => {
    const o: Options = {
      scenarios: v.scenarios,
      durationMs: v.duration,
      windowMs: v.window,
      since: v.since,
      until: v.until,
      delay: v.delay,
      flushMs: v.flush,
      seed: v.seed,
      faults: v["lab-fault"],
      coarseSilver: v["lab-coarse-silver"],
      loadCmd: v["load-cmd"],
      tuning: v.tuning ?? "",
      skipHealth: v["skip-health"],
      labLoad: v["lab-load"],
      yes: v.yes,
      config: loadConfig(),
    };
    if (o.since && o.until && o.until <= o.since) throw usageError(`invalid --until: it must be after --since`);
    return o;
  },

  // ## Fetch: each scenario, measured by the engine
  async fetch({ options: o, run, log }) {
    const spec = targetFromEnv();
    const target = await connectClickHouse(spec);
    const lab = isLab(spec);
    const health = lab
      ? { skipped: "the lab makes its own traffic: the health precondition applies to stacks" }
      : await requireHealthy(target, o.skipHealth, o.config);
    const loads = o.scenarios.filter((s) => s.multiple > 1);
    // a stack's database is checked before anything is asked of its user (an unknown one is exit 4)
    if (!lab) await discoverTradeTables(target, target.database, o.config);
    if (!lab && loads.length) await confirmLoad(o, loads, target.database);
    const pipeline = await openPipeline(target, lab, o, log);
    const records: ScenarioRecord[] = [];
    try {
      for (const s of o.scenarios) {
        log(`scenario ${s.name}: ${s.multiple === 1 ? "the running traffic" : pipeline.load.how}`);
        records.push(await runScenario(pipeline, s, o, run, log));
      }
    } finally {
      await pipeline.stop?.();
    }
    await run.saveJson("scenarios", records);
    return {
      parameters: {
        scenarios: o.scenarios.map((s) => s.name),
        duration: formatDuration(o.durationMs),
        ...(lab
          ? {
              delay: o.delay,
              flush: formatDuration(o.flushMs),
              seed: o.seed,
              faults: o.faults,
              coarseSilver: o.coarseSilver,
              load: pipeline.load.how,
            }
          : { window: formatDuration(o.windowMs), loadCmd: o.loadCmd }),
      },
      target: { kind: target.kind, label: target.label, version: target.version },
      tuning: o.tuning || null,
      health,
      window: {
        from: new Date(Math.min(...records.map((r) => r.window.fromMs))).toISOString(),
        to: new Date(Math.max(...records.map((r) => r.window.toMs))).toISOString(),
      },
    };
  },

  // ## Render: results table, segments, figures
  async render(doc, run) {
    const records = await run.json<ScenarioRecord[]>("scenarios");
    const m = run.manifest;
    doc.md`Lags are **ingestion time minus exchange time**: two clocks (the exchange's and this pipeline's), so a
      clock offset shifts every figure, and a negative lag means the exchange clock ran ahead. Quantiles are computed
        by the engine over every row with \`quantileExact\` (the value at position ⌊q·n⌋ of the sorted lags: exact,
          not estimated, and cheap at K2's rates).`;
    if (records[0]?.lab)
      doc.note(
        "INFO",
        "These figures measure the K2 lab, not a K2 stack: the replayer's modelled exchange delay (ground truth) " +
          "plus this machine's embedded ClickHouse running the K2 pipeline's shape, with one consumer inserting the " +
          "three exchanges' batches in turn (each insert runs the nine materialized views). The verdicts judge the " +
          "lab; what carries over to a stack is the method: the same queries, quantiles and checks run there with " +
          "CLICKHOUSE_URL set.",
      );
    const pre = describePrecondition(m.health);
    if (pre) doc.note(pre.status, pre.text);
    const facts = await latencyFacts(run);
    const summaries = facts.summaries;
    floorSection(doc, records, facts.floors, facts.busiestShare);
    doc.md`## Results`;
    resultsTable(doc, summaries);
    copiesNote(doc, records);
    segmentTable(doc, records, facts.per);
    doc.fact("Bottleneck identified", facts.bottleneck);
    doc.fact("Tuning applied", m.tuning ?? 'none recorded for this run (pass --tuning "...")');
    await latencyFigures(doc, run, records, summaries);
    await perTableSection(doc, run, records);
    const failed = summaries.some((s) => s.status !== "PASS");
    return {
      failed,
      summary: [
        `latency: ${summaries.map((s) => `${s.scenario} ${s.status}`).join(", ")} (target ` +
          `${records[0]?.lab ? "lab" : "stack"})`,
        ...summaries.map((s) =>
          (
            `  ${s.scenario.padEnd(4)} p50 ${fmt(s.p50)} ms · p99 ${fmt(s.p99)} ms · max ${fmt(s.max)} ms · ` +
            `${s.achieved} · ${s.notes.join("; ")}`
          ).slice(0, 240),
        ),
        `  bottleneck: ${facts.bottleneck}`.slice(0, 240),
      ],
    };
  },

  // ## Compare: the deltas for a "tuning applied" PR, exact from the stored per-trade lags
  compare: (doc, a, b) => compareRuns(doc, a, b),
};

/** The pipeline the scenarios run on: a stack as it is, or the lab with its traffic started, and the 5x/10x load. */
async function openPipeline(
  target: Target,
  lab: boolean,
  options: Options,
  log: (m: string) => void,
): Promise<Pipeline> {
  if (!lab) return { target, load: rpkLoad(options.loadCmd) };
  // rpk: the stack's load path on the lab, the same exec into k2-redpanda, whose rpk stand-in reads the lab's topics
  const rpk = options.labLoad === "rpk";
  const rig = await startLabRig(target, {
    rate: BASE_RATE,
    seed: options.seed,
    delay: options.delay,
    flushMs: options.flushMs,
    faults: options.faults,
    schema: { silverFineClock: !options.coarseSilver },
    docker: rpk ? await connectDocker() : null,
    topics: rpk ? new LabTopics(labStackDir()) : undefined,
    offload: null,
  });
  log(`lab traffic running at ${BASE_RATE} msg/s (Kafka flush ${formatDuration(options.flushMs)})`);
  const load = rpk ? rpkLoad(options.loadCmd) : generatorLoad(rig.traffic.control, BASE_RATE);
  return { target, load, lab: rig.traffic, stop: rig.stop };
}

/** A stack's load adds replayed copies of recent trades to its tables: only when confirmed. */
async function confirmLoad(options: Options, loads: Scenario[], database: string) {
  const copies = loads.reduce((n, s) => n + (s.multiple - 1) * BASE_RATE * (options.durationMs / 1000), 0);
  await confirm(
    `replay about ${Math.round(copies)} recent messages into market.crypto.trades.<exchange>.raw with rpk in ` +
      `k2-redpanda (${loads.map((s) => s.name).join(", ")}, ${formatDuration(options.durationMs)} each): they ` +
      "land as " +
      `copies in ${database}'s bronze, silver and gold tables`,
    options.yes,
    "load a real stack",
  );
}

if (import.meta.main) await main(latency);
export default latency;
