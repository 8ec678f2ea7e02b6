// # Step 4, part 2: every alert fired in the lab, through a real Prometheus and Alertmanager
//
// The lab runs (its traffic, its offload job, its containers when a Docker engine answers) with the pipeline exporter
// in process; Debian's prometheus scrapes it on loopback with the generated rules, time-compressed by --factor, and
// routes to Debian's alertmanager, whose webhook is this notebook. A healthy baseline, then one fault per alert:
// measured time to pending, firing, notified and resolved against each rule's bound. Everything started is stopped,
// on Ctrl-C too.
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import { connectClickHouse, isLab, targetFromEnv } from "../lib/io/clickhouse.ts";
import { probeDocker } from "../lib/io/docker.ts";
import { loadConfig } from "../lib/k2/config.ts";
import { KAFKA_ENGINE, PROMETHEUS } from "../lib/k2/stack.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";
import { startLabTraffic } from "../lib/lab/lab.ts";
import { LabOffload } from "../lib/lab/offload.ts";
import { ensureLabStack } from "../lib/lab/stack.ts";
import { parseDelay } from "../lib/lab/random.ts";
import { PipelineExporter } from "../lib/alerting/exporter.ts";
import { runLiveFire, type LiveFireRecord } from "../lib/alerting/livefire.ts";
import { liveFireTable, dashboardPreview } from "../lib/alerting/livefire-report.ts";
import { ALERTS } from "../lib/alerting/rules.ts";
import { K2Error, EXIT, usageError } from "../lib/runtime/errors.ts";
import type { Fetched } from "../lib/runtime/store.ts";
import * as opt from "../lib/runtime/options.ts";

type Options = { factor: number; baselineMs: number; alerts: string[]; rate: number };
type LiveFireFetched = Fetched & { parameters: { factor: number; rate: number; docker: string } };

const alertName = (s: string, flag: string) => {
  if (!ALERTS.some((a) => a.name === s))
    throw usageError(`invalid ${flag}: unknown alert ${JSON.stringify(s)} (${ALERTS.map((a) => a.name).join(", ")})`);
  return s;
};

const OPTIONS = {
  factor: opt.number("30", "time compression: for, windows and time thresholds divided by this", 1, 600),
  "full-scale": opt.flag("the real timings (factor 1, 15 s scrapes): long, about an hour"),
  baseline: opt.duration("10s", "the healthy baseline during which no alert may fire"),
  alerts: opt.list(alertName, "alerts to fire (default all seven)", ALERTS.map((a) => a.name).join(",")),
  rate: opt.rate("100", "the lab's traffic, msg/s (a consumer stall reaches the lag threshold sooner)"),
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
and resolved after the fault clears, against the bound the rule implies. With --gate, exits 6 unless all PASS.`,
  options: OPTIONS,
  parse: (v) => ({
    factor: v["full-scale"] ? 1 : v.factor,
    baselineMs: v.baseline,
    alerts: v.alerts,
    rate: v.rate,
  }),

  // ## Fetch: the lab, the monitoring, the faults
  async fetch({ options: o, run, log, onAbort }) {
    const spec = targetFromEnv();
    if (!isLab(spec))
      throw new K2Error(
        "live fire runs on the lab (it injects faults into the pipeline): unset CLICKHOUSE_URL; on a stack, step 3's " +
          "fault tests with the stack's Prometheus are the way",
        EXIT.usage,
      );
    const target = await connectClickHouse(spec);
    const probe = await probeDocker();
    const docker = "unreachable" in probe ? null : probe;
    if (docker) await ensureLabStack(docker);
    const scrapeMs = o.factor === 1 ? PROMETHEUS.scrapeMs : 1000;
    const flushMs = Math.max(50, Math.round(KAFKA_ENGINE.flushIntervalMs / o.factor));
    const traffic = await startLabTraffic(target, {
      ratePerSec: o.rate,
      seed: 11,
      delay: parseDelay("lognormal:40ms,0.5"),
      flushMs,
    });
    const offload = await new LabOffload(target, null, Math.round(THRESHOLDS.offloadIntervalMs / o.factor)).setup();
    offload.start();
    await offload.runOnce();
    const exporter = new PipelineExporter({ db: target, database: target.database, config: loadConfig(), docker });
    const stopLab = async () => {
      offload.stop();
      await traffic.stop();
    };
    // on Ctrl-C the live fire's own cleanups (the fault in place, Prometheus, Alertmanager) go before the lab's
    const aborts: (() => Promise<void>)[] = [];
    onAbort(async () => {
      for (const a of aborts) await a();
      await stopLab();
    });
    let record: LiveFireRecord;
    try {
      record = await runLiveFire(
        { target, traffic, offload, docker, flushMs, exporter },
        {
          factor: o.factor,
          scrapeMs,
          evalMs: scrapeMs,
          baselineMs: o.baselineMs,
          alerts: o.alerts,
          log,
          onAbort: (f) => void aborts.push(f),
        },
      );
    } finally {
      await stopLab();
    }
    if (!docker && o.alerts.includes("ServiceOOMKill"))
      record.results.push({
        alert: "ServiceOOMKill",
        fault: "a container out of memory",
        boundMs: 0,
        pendingMs: null,
        firingMs: null,
        notifiedMs: null,
        resolvedMs: null,
        status: "NOT RUN",
        note: `no Docker engine (${"unreachable" in probe ? probe.unreachable : ""})`,
      });
    await run.saveJson("livefire", record);
    return {
      parameters: { factor: o.factor, rate: o.rate, docker: docker ? docker.host : "none" },
      target: { kind: target.kind, label: target.label, version: target.version },
      window: { from: new Date(record.window.fromMs).toISOString(), to: new Date(record.window.toMs).toISOString() },
    };
  },

  // ## Render: the live-fire table and what the dashboard showed
  async render(doc, run) {
    const r = await run.json<LiveFireRecord>("livefire");
    liveFireTable(doc, r);
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
            `firing ${x.firingMs === null ? "never" : seconds(x.firingMs)} (bound ${seconds(x.boundMs)})`,
        ),
      ],
    };
  },
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

if (import.meta.main) await main(liveFire);
export default liveFire;
