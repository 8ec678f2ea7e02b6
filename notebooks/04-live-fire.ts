// # Step 4, part 2: every alert fired in the lab, through a real Prometheus and Alertmanager
//
// The lab runs (its traffic, its offload job, its containers when a Docker engine answers) with the pipeline exporter
// in process; Debian's prometheus scrapes it on loopback with the generated rules, time-compressed by --factor, and
// routes to Debian's alertmanager, whose webhook is this notebook. A healthy baseline, then one fault per alert:
// measured time to pending, firing, notified and resolved against each rule's bound. Everything started is stopped,
// on Ctrl-C too. --live fires through a stack's Prometheus (PROMETHEUS_URL) instead, with step 3's faults.

import { labFlushMs } from "../lib/alerting/compress.ts";
import { PipelineExporter } from "../lib/alerting/exporter.ts";
import { DELAY_WINDOW_MS } from "../lib/alerting/exporter-sql.ts";
import { lagOverThreshold, serveLab, warmExporter } from "../lib/alerting/livefire/lab.ts";
import { type LiveFireRecord, notRunResult } from "../lib/alerting/livefire/record.ts";
import { dashboardPreview, liveFireTable, liveFireTimeline } from "../lib/alerting/livefire/report.ts";
import { runLiveFire, runLiveOnStack } from "../lib/alerting/livefire/run.ts";
import { ALERTS } from "../lib/alerting/rules.ts";
import { stackFaults } from "../lib/alerting/stack-faults.ts";
import { restoreJournal } from "../lib/faults/docker.ts";
import { connectClickHouse, isLab, type Target, type TargetSpec, targetFromEnv } from "../lib/io/clickhouse.ts";
import { connectDocker, probeDocker } from "../lib/io/docker.ts";
import { isInstalled, missingLine } from "../lib/io/packages.ts";
import { connectPrometheus, type PromApi, prometheusUrlFromEnv } from "../lib/io/prometheus.ts";
import { loadConfig } from "../lib/k2/config.ts";
import { clickhouseNetwork } from "../lib/k2/network.ts";
import { PROMETHEUS } from "../lib/k2/stack.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";
import { EXCHANGE_SHARE } from "../lib/lab/instruments.ts";
import type { LabOffload } from "../lib/lab/offload.ts";
import { type LabRig, startLabRig } from "../lib/lab/rig.ts";
import { LAB_NET } from "../lib/lab/stack.ts";
import { confirm } from "../lib/runtime/confirm.ts";
import { EXIT, K2Error, usageError } from "../lib/runtime/errors.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";
import type { Fetched } from "../lib/runtime/store.ts";

type Options = {
  factor: number;
  baselineMs: number;
  alerts: string[];
  rate: number;
  live: boolean;
  labPort: number;
  network: string | undefined;
  yes: boolean;
};
type LiveFireFetched = Fetched & { parameters: { factor: number; rate: number; docker: string; mode: string } };

const alertName = (s: string, flag: string) => {
  if (!ALERTS.some((a) => a.name === s))
    throw usageError(`invalid ${flag}: unknown alert ${JSON.stringify(s)} (${ALERTS.map((a) => a.name).join(", ")})`);
  return s;
};

const OPTIONS = {
  factor: opt.number("60", "time compression: for, windows and time thresholds divided by this (--live: 1)", 1, 600),
  "full-scale": opt.flag("the real timings (factor 1, 15 s scrapes): long, about an hour"),
  baseline: opt.duration("5s", "the healthy baseline during which no alert may fire"),
  alerts: opt.list(alertName, "alerts to fire (default all seven)", ALERTS.map((a) => a.name).join(",")),
  rate: opt.rate("100", "the lab's traffic, msg/s (a consumer stall reaches the lag threshold sooner)"),
  live: opt.flag("fire through PROMETHEUS_URL (a stack's Prometheus and rules) with step 3's faults"),
  "lab-port": opt.number(
    "9464",
    "--live on the lab: the loopback port its endpoints are served on to be scraped",
    1,
    65535,
  ),
  network: opt.optionalText(
    "--live: the network the partition leaves (lab: k2-lab_k2-net; stack: the one k2-clickhouse is on)",
    "name",
  ),
  yes: opt.flag("--live on a stack: do not ask before injecting faults"),
};

const liveFire: Notebook<Options, LiveFireFetched, typeof OPTIONS> = {
  name: "04-live-fire",
  title: "Step 4: every alert fired in the lab",
  about: `Runs the lab (its traffic, offload job and containers) with the pipeline exporter, and Debian's
prometheus and alertmanager on loopback with the generated rules, time-compressed by --factor (the report
says by how much; --full-scale runs the real timings). After a healthy baseline in which no alert may fire,
one fault per alert creates its condition: binance's handler silent (FeedHandlerDown), the consumer stalled
(RedpandaConsumerLagHigh; stalled then released: MVProcessingDelay), inserts failing (ClickHouseBronzeInsertFailure),
the offload job stopped (IcebergOffloadLag) or failing run after run (IcebergOffloadFailure), a container out of
memory and restarting (ServiceOOMKill, needs Docker). Measured per alert: time to pending, firing, the webhook,
and resolved after the fault clears, against the bound the rule implies. With --gate, exits 6 unless all PASS.

--live fires through the Prometheus at PROMETHEUS_URL instead, with its own rules and intervals (--factor says what
its rules are compressed by; a stack's are not: 1), reading /api/v1/alerts, and step 3's faults through Docker (its
journal and guard): a handler stopped, k2-clickhouse partitioned, k2-spark-iceberg or k2-minio stopped, and a
container of ours out of memory. On a stack it asks first, or --yes; on the lab, the lab's endpoints are served on
127.0.0.1:--lab-port for that Prometheus to scrape (jobs k2-pipeline /metrics, redpanda /redpanda/public_metrics,
clickhouse /clickhouse/metrics).`,
  options: OPTIONS,
  parse: (v) => ({
    factor: v["full-scale"] ? 1 : v.factor,
    baselineMs: v.baseline,
    alerts: v.alerts,
    rate: v.rate,
    live: v.live,
    labPort: v["lab-port"],
    network: v.network,
    yes: v.yes,
  }),

  // ## Fetch: the lab, the monitoring, the faults
  async fetch({ options: o, run, log, onAbort }) {
    const spec = targetFromEnv();
    if (!o.live && !isLab(spec))
      throw new K2Error(
        "live fire without --live runs on the lab (it injects faults into the pipeline): unset CLICKHOUSE_URL, or " +
          "fire through the stack's Prometheus with --live (PROMETHEUS_URL)",
        EXIT.usage,
      );
    const record = o.live ? await fetchLive(o, spec, log, onAbort) : await fetchLab(o, spec, log, onAbort);
    await run.saveJson("livefire", record);
    return {
      parameters: { factor: record.factor, rate: o.rate, docker: record.docker, mode: record.mode },
      target: record.target,
      window: { from: new Date(record.window.fromMs).toISOString(), to: new Date(record.window.toMs).toISOString() },
    };
  },

  // ## Render: the live-fire table and what the dashboard showed
  async render(doc, run) {
    const r = await run.json<LiveFireRecord>("livefire");
    liveFireTable(doc, r);
    liveFireTimeline(doc, r);
    dashboardPreview(doc, r);
    const pass = r.results.filter((x) => x.status === "PASS").length;
    const scale = r.factor === 1 ? "full scale" : `${r.factor}x compressed`;
    const baseline = r.baseline.fired.length ? `FAIL (${r.baseline.fired.join(", ")})` : "quiet";
    return {
      failed: r.baseline.fired.length > 0 || r.results.some((x) => x.status !== "PASS"),
      summary: [
        `live fire (${scale}): ${pass}/${r.results.length} alerts fired within their bound; baseline ${baseline}`,
        ...r.results.map(
          (x) =>
            `  ${x.status.padEnd(8)} ${x.alert.padEnd(30)} ` +
            (x.status === "NOT RUN"
              ? x.note
              : `firing ${x.firingMs === null ? "never" : seconds(x.firingMs)} (bound ${seconds(x.boundMs)})`),
        ),
      ],
    };
  },
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
type Log = (m: string) => void;
type OnAbort = (f: () => Promise<void>) => void;
type Fired = LiveFireRecord & { docker: string; target: Fetched["target"] };
const described = (target: Target) => ({ kind: target.kind, label: target.label, version: target.version });

/** The lab's traffic for the live fire: its own seed and modelled delay. */
const LIVE_FIRE_LAB = { seed: 11, delay: "lognormal:40ms,0.5" };

/** One offload run before the baseline, so that the offload alerts' metrics exist from the start. */
async function firstOffload(rig: LabRig): Promise<LabOffload> {
  await rig.offload!.runOnce();
  return rig.offload!;
}

/**
 * The exporter on the lab; its delay window (a minute) compressed with the rules, to no less than 5 s. It reads the
 * watermarks as on a stack: both stores, the lab's Prefect DB being the one written.
 */
const labExporter = (rig: LabRig, factor: number) =>
  new PipelineExporter({
    db: rig.target,
    database: rig.target.database,
    prefectDbUrl: rig.prefectDbUrl,
    config: loadConfig(),
    docker: rig.docker,
    delayWindowMs: Math.max(5000, DELAY_WINDOW_MS / factor),
  });

/** The lab's traffic, offload job and exporter, with our own Prometheus and Alertmanager. */
async function fetchLab(options: Options, spec: TargetSpec, log: Log, onAbort: OnAbort): Promise<Fired> {
  const target = await connectClickHouse(spec);
  const missing = (["prometheus", "alertmanager"] as const).filter((n) => !isInstalled(n));
  if (missing.length) {
    // runs what it can (nothing without a Prometheus) and says what enables it, as the main job's other steps do
    log(`NOT RUN: ${missingLine([...missing])}`);
    return notRunRecord(options, missingLine([...missing]), target);
  }
  const probe = await probeDocker();
  const docker = "unreachable" in probe ? null : probe;
  // compressed: a 2 s scrape leaves a loaded 2-core machine room to answer (a scrape that times out makes every
  // metric absent, and the absent() guards fire); rules evaluated every second
  const scrapeMs = options.factor === 1 ? PROMETHEUS.scrapeMs : 2000;
  const evalMs = options.factor === 1 ? PROMETHEUS.evalMs : 1000;
  const flushMs = labFlushMs(options.factor, scrapeMs);
  const offloadEveryMs = Math.round(THRESHOLDS.offloadIntervalMs / options.factor);
  const lab = await startLabRig(target, {
    ...LIVE_FIRE_LAB,
    rate: options.rate,
    flushMs,
    docker,
    offload: { everyMs: offloadEveryMs, containers: false },
  });
  const cleanups = lifo(onAbort, lab.stop);
  try {
    const rig = { ...lab, offload: await firstOffload(lab), exporter: labExporter(lab, options.factor) };
    const r = await runLiveFire(rig, { ...options, scrapeMs, evalMs, log, onAbort: cleanups.add });
    return { ...r, docker: docker?.host ?? "none", target: described(target) };
  } finally {
    await cleanups.last();
  }
}

/** Every alert NOT RUN with the reason: the record a run without Debian's prometheus or alertmanager stores. */
function notRunRecord(options: Options, why: string, target: Target): Fired {
  const now = Date.now();
  return {
    mode: "lab",
    factor: options.factor,
    scrapeMs: 0,
    evalMs: 0,
    prometheus: "none",
    alertmanager: null,
    baseline: { ms: 0, fired: [] },
    results: ALERTS.filter((a) => options.alerts.includes(a.name)).map((a) => notRunResult(a.name, "none", why)),
    window: { fromMs: now, toMs: now },
    faults: [],
    preview: [],
    docker: "none",
    target: described(target),
  };
}

/** Through PROMETHEUS_URL with step 3's faults: on a stack (asked first), or on the lab served as a stack is. */
async function fetchLive(options: Options, spec: TargetSpec, log: Log, onAbort: OnAbort): Promise<Fired> {
  const lab = isLab(spec);
  const api = await connectPrometheus(prometheusUrlFromEnv().url);
  const docker = await connectDocker();
  await restoreJournal(docker, log);
  const target = await connectClickHouse(spec);
  const network = lab ? (options.network ?? LAB_NET) : await clickhouseNetwork(docker, options.network);
  if (!lab)
    await confirm(
      `stop k2-feed-handler-binance, k2-spark-iceberg and k2-minio and disconnect k2-clickhouse from ${network}, one ` +
        `at a time, on the real stack (watched through ${api.url})`,
      options.yes,
      "inject faults into a real stack",
    );
  const flushMs = labFlushMs(options.factor, (await api.intervals()).scrapeMs);
  const offloadEveryMs = Math.round(THRESHOLDS.offloadIntervalMs / options.factor);
  let stopLab = async () => {};
  let hold: { paused: boolean } | undefined;
  let delayWindow: number | undefined; // a stack's exporter averages over its own minute
  let lagHolds: (() => boolean) | undefined; // the lab's ground truth; a stack's lag is known only from its metrics
  if (lab) {
    const rig = await startLabRig(target, {
      ...LIVE_FIRE_LAB,
      rate: options.rate,
      flushMs,
      docker,
      throughContainers: true,
      offload: { everyMs: offloadEveryMs, containers: true },
    });
    await firstOffload(rig);
    const exporter = labExporter(rig, options.factor);
    await warmExporter(exporter, log);
    const served = serveLab({ endpoints: rig.endpoints, exporter }, options.labPort);
    log(`the lab's endpoints: http://127.0.0.1:${served.port}/metrics, /redpanda/public_metrics, /clickhouse/metrics`);
    hold = rig.traffic.control;
    lagHolds = lagOverThreshold(rig.traffic);
    delayWindow = exporter.delayWindowMs;
    stopLab = async () => {
      served.stop(true);
      await rig.stop();
    };
  }
  const cleanups = lifo(onAbort, stopLab);
  try {
    const busiestPerSec = await busiestRate(api, options.rate);
    const faults = (scrapeMs: number) =>
      stackFaults(
        { docker, lab, network, busiestPerSec, flushMs, offloadEveryMs, hold, delayWindowMs: delayWindow, lagHolds },
        options.factor,
        scrapeMs,
      );
    const r = await runLiveOnStack(api, faults, { ...options, log, onAbort: cleanups.add });
    return { ...r, docker: docker.host, target: described(target) };
  } finally {
    await cleanups.last();
  }
}

/**
 * Ctrl-C runs the live fire's own cleanups (the fault in place, Prometheus) before the lab's, newest first; `last`
 * runs the lab's on a normal end.
 */
function lifo(onAbort: OnAbort, last: () => Promise<void>) {
  const later: (() => Promise<void>)[] = [];
  onAbort(async () => {
    for (const f of later.reverse()) await f();
    await last();
  });
  return { add: (f: () => Promise<void>) => void later.push(f), last };
}

/** The busiest exchange's landed rate as the exporter counts it (how soon a stalled consumer's lag passes 1000). */
async function busiestRate(api: PromApi, fallback: number): Promise<number> {
  // no answer yet (the exporter's first minute): the configured rate, which is what the lab sends
  const r = await api.query("max(sum by (exchange) (rate(k2_trades_landed_total[1m])))").catch(() => []);
  const v = Number(r[0]?.value[1]);
  return v > 0 ? v : fallback * Math.max(...Object.values(EXCHANGE_SHARE));
}

if (import.meta.main) await main(liveFire);
export default liveFire;
