// Live fire in the lab: a real Prometheus scrapes the lab (the pipeline exporter and the lab's Redpanda and ClickHouse
// endpoints) with the generated rules loaded, time-compressed by a stated factor, and routes to a real Alertmanager
// whose webhook is ours. For each alert a fault creates its condition; measured: time to pending, to firing, to the
// webhook, and to resolved after the fault clears, against the bound the rule implies (the time the fault needs to
// make the condition true + `for` + one scrape + one evaluation). A healthy baseline first, during which no alert may
// fire. Everything started here is stopped here.
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { connectPrometheus, startPrometheus, type PromApi, type RunningPrometheus } from "../io/prometheus.ts";
import { startAlertmanager, type RunningAlertmanager } from "../io/alertmanager.ts";
import type { LabTraffic } from "../lab/lab.ts";
import type { LabOffload } from "../lab/offload.ts";
import { clickhouseMetrics, redpandaMetrics } from "../lab/endpoints.ts";
import { EXCHANGE_SHARE } from "../lab/instruments.ts";
import { runLabContainer } from "../lab/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import type { Status } from "../verdict/status.ts";
import { ALERTS, ruleYaml, type Alert } from "./rules.ts";
import { compress } from "./compress.ts";
import { PipelineExporter } from "./exporter.ts";
import { buildDashboard } from "./dashboard.ts";
import { DELAY_WINDOW_MS } from "./exporter-sql.ts";
import type { Panel } from "@grafana/schema";

export type FireResult = {
  alert: string;
  fault: string;
  boundMs: number;
  pendingMs: number | null;
  firingMs: number | null;
  notifiedMs: number | null;
  resolvedMs: number | null;
  status: Status;
  note: string;
};
export type LiveFireRecord = {
  factor: number;
  scrapeMs: number;
  evalMs: number;
  prometheus: string;
  alertmanager: string;
  baseline: { ms: number; fired: string[] };
  results: FireResult[];
  window: { fromMs: number; toMs: number };
  /** the fault intervals, for the dashboard preview */
  faults: { alert: string; fromMs: number; toMs: number }[];
  /** the dashboard's panels as Prometheus answered their queries over the run */
  preview: PanelSeries[];
};
export type PanelSeries = { panel: string; expr: string; series: { label: string; points: [number, number][] }[] };

export type LabRig = {
  target: Target;
  traffic: LabTraffic;
  offload: LabOffload;
  docker: DockerTarget | null;
  flushMs: number;
  exporter: PipelineExporter;
};

type FaultSpec = {
  alert: string;
  fault: string;
  /** how long after the fault starts its condition holds, by construction */
  conditionAfterMs: number;
  /** apply the fault; resolves when it is in place (a stall-and-release returns at the release, timed from there) */
  apply(): Promise<void>;
  clear(): Promise<void>;
  needsDocker?: boolean;
  /** measured from another fault's clearing (its effect outlives it), with nothing of its own to apply */
  after?: string;
  /** how long after clearing the alert may take to resolve (default 30 s + for) */
  resolveWithinMs?: number;
};

const OOM_CONTAINER = "k2-lab-oom";
const BUSIEST = Math.max(...Object.values(EXCHANGE_SHARE));

/** The faults of step 3's kinds, one per alert, each with the time its condition needs. */
export function faultsFor(rig: LabRig, factor: number, scrapeMs: number): FaultSpec[] {
  const c = rig.traffic.control;
  const offloadPeriodMs = rig.offload.everyMs;
  return [
    {
      alert: "FeedHandlerDown",
      fault: "binance's handler delivers nothing",
      conditionAfterMs: THRESHOLDS.feedStaleMs / factor + rig.flushMs,
      apply: async () => void c.silenced.add("binance"),
      clear: async () => void c.silenced.delete("binance"),
    },
    {
      alert: "RedpandaConsumerLagHigh",
      fault: "the consumer stalled",
      conditionAfterMs: (THRESHOLDS.consumerLagMessages / (c.rate * BUSIEST)) * 1000,
      apply: async () => void (c.paused = true),
      clear: async () => void (c.paused = false),
    },
    {
      // the stalled consumer's backlog lands at the release with the delay it waited: the exporter averages delay
      // over one minute (a real minute: it is the component, not the rule), so this resolves a minute later
      alert: "MVProcessingDelay",
      fault: "the consumer stalled, then released (timed from the release)",
      conditionAfterMs: rig.flushMs + scrapeMs,
      after: "RedpandaConsumerLagHigh",
      resolveWithinMs: DELAY_WINDOW_MS + 30_000,
      apply: async () => {},
      clear: async () => {},
    },
    {
      alert: "ClickHouseBronzeInsertFailure",
      fault: "inserts failing (bronze_trades_binance detached under its MV)",
      conditionAfterMs: rig.flushMs + 2 * scrapeMs,
      apply: () => rig.target.command(`DETACH TABLE ${rig.target.database}.bronze_trades_binance`),
      clear: () => rig.target.command(`ATTACH TABLE ${rig.target.database}.bronze_trades_binance`),
    },
    {
      alert: "IcebergOffloadLag",
      fault: "the offload job stopped",
      conditionAfterMs: (THRESHOLDS.offloadLagMinutes * 60_000) / factor,
      apply: async () => rig.offload.stop(),
      clear: async () => {
        rig.offload.start();
        await rig.offload.runOnce();
      },
    },
    {
      alert: "IcebergOffloadFailure",
      fault: "the offload job failing run after run",
      conditionAfterMs: (THRESHOLDS.offloadFailedRunsAbove + 1) * offloadPeriodMs,
      apply: async () => void (rig.offload.fault = "the cold store refused the write (injected)"),
      clear: async () => {
        rig.offload.fault = undefined;
        await rig.offload.runOnce();
      },
    },
    {
      alert: "ServiceOOMKill",
      fault: `${OOM_CONTAINER} (16 MB) runs out of memory and restarts`,
      conditionAfterMs: 3000,
      needsDocker: true,
      apply: async () =>
        void (await runLabContainer(rig.docker!, {
          name: OOM_CONTAINER,
          cmd: 'x=a; while :; do x="$x$x"; done',
          memoryMb: 16,
          restart: { Name: "on-failure", MaximumRetryCount: 5 },
        })),
      clear: async () => {
        await rig.docker!.docker.getContainer(OOM_CONTAINER).remove({ force: true });
      },
    },
  ];
}

/** The lab's scrape endpoints on one loopback port: the exporter, Redpanda's and ClickHouse's. */
export function serveLab(rig: LabRig) {
  return Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") return new Response(await rig.exporter.scrape());
      if (path === "/redpanda/public_metrics") return new Response(redpandaMetrics(rig.traffic.summary()));
      if (path === "/clickhouse/metrics") return new Response(await clickhouseMetrics(rig.target));
      return new Response("not found", { status: 404 });
    },
  });
}

export function prometheusConfig(labPort: number, amUrl: string, scrapeMs: number, evalMs: number): string {
  const job = (name: string, path: string) => ({
    job_name: name,
    metrics_path: path,
    static_configs: [{ targets: [`127.0.0.1:${labPort}`] }],
  });
  return JSON.stringify({
    global: { scrape_interval: `${scrapeMs}ms`, evaluation_interval: `${evalMs}ms` },
    rule_files: ["k2-alerts.yml"],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [amUrl.replace(/^http:\/\//, "")] }] }] },
    scrape_configs: [
      job("k2-pipeline", "/metrics"),
      job("redpanda", "/redpanda/public_metrics"),
      job("clickhouse", "/clickhouse/metrics"),
    ],
  });
}

export type LiveFireOptions = {
  factor: number;
  scrapeMs: number;
  evalMs: number;
  baselineMs: number;
  alerts: string[];
  log: (m: string) => void;
  /** cleanup to run on Ctrl-C (the runtime's onAbort) */
  onAbort: (f: () => Promise<void>) => void;
};

type Notified = { alert: string; status: string; at: number }[];

/** Start the webhook, Alertmanager and Prometheus on loopback; run the baseline and each fault; stop them all. */
export async function runLiveFire(rig: LabRig, o: LiveFireOptions): Promise<LiveFireRecord> {
  const notified: Notified = [];
  const hook = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const body = (await req.json().catch(() => ({}))) as {
        alerts?: { status: string; labels: Record<string, string> }[];
      };
      for (const a of body.alerts ?? [])
        notified.push({ alert: a.labels.alertname ?? "", status: a.status, at: Date.now() });
      return new Response("ok");
    },
  });
  const lab = serveLab(rig);
  let am: RunningAlertmanager | undefined, prom: RunningPrometheus | undefined;
  const stopAll = async () => {
    await prom?.stop();
    await am?.stop();
    lab.stop(true);
    hook.stop(true);
  };
  // Ctrl-C: the fault in place is cleared first (a detached table, a silenced exchange), then everything stopped
  let current: FaultSpec | undefined;
  const clearCurrent = async () => {
    await current?.clear().catch(() => {});
    current = undefined;
  };
  o.onAbort(async () => {
    await clearCurrent();
    await stopAll();
  });
  try {
    am = await startAlertmanager(`http://127.0.0.1:${hook.port}/`);
    const specs = faultsFor(rig, o.factor, o.scrapeMs).filter(
      (f) => o.alerts.includes(f.alert) && (!f.needsDocker || rig.docker),
    );
    const alerts = ALERTS.filter((a) => specs.some((f) => f.alert === a.name)).map((a) =>
      compress(a, o.factor, o.scrapeMs),
    );
    prom = await startPrometheus(prometheusConfig(lab.port!, am.url, o.scrapeMs, o.evalMs), {
      "k2-alerts.yml": ruleYaml(alerts),
    });
    const api = await connectPrometheus(prom.url);
    o.log(`Prometheus ${api.version} at ${prom.url}, Alertmanager at ${am.url}, rules ${o.factor}x compressed`);
    await untilScraped(api, alerts.length);
    const fromMs = Date.now();
    const tl = new Timeline().start(api);
    o.onAbort(() => tl.stop());
    await Bun.sleep(o.baselineMs);
    const baseline = [...new Set(tl.changes.filter((c) => c.state !== "inactive").map((c) => c.alert))];
    o.log(`baseline ${o.baselineMs / 1000} s: ${baseline.length ? `fired ${baseline.join(", ")}` : "no alert"}`);
    const results: FireResult[] = [],
      faults: LiveFireRecord["faults"] = [],
      released = new Map<string, number>();
    for (const f of specs) {
      const a = alerts.find((x) => x.name === f.alert)!;
      o.log(`${f.alert}: ${f.fault}`);
      current = f;
      const r = await fire(api, a, f, tl, notified, released, o);
      current = undefined;
      results.push(r.result);
      faults.push({ alert: f.alert, fromMs: r.fromMs, toMs: r.toMs });
      o.log(`${f.alert}: ${r.result.status} (firing ${fmtS(r.result.firingMs)} of a ${fmtS(r.result.boundMs)} bound)`);
    }
    const toMs = Date.now();
    await tl.stop();
    return {
      preview: await previewPanels(api, fromMs, toMs),
      factor: o.factor,
      scrapeMs: o.scrapeMs,
      evalMs: o.evalMs,
      prometheus: `Debian's prometheus ${api.version} (${prom.url})`,
      alertmanager: am.url,
      baseline: { ms: o.baselineMs, fired: baseline },
      results,
      window: { fromMs, toMs },
      faults,
    };
  } finally {
    await clearCurrent();
    await stopAll();
  }
}

const fmtS = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);

/** Alert name -> its state now; several series of one alert (per exchange) count as firing if any fires. */
async function activeAlerts(api: PromApi): Promise<Map<string, "pending" | "firing">> {
  const now = new Map<string, "pending" | "firing">();
  for (const a of await api.alerts())
    if (now.get(a.labels.alertname!) !== "firing") now.set(a.labels.alertname!, a.state);
  return now;
}

/** Every target scraped and every rule evaluated once, so that the absent() guards see the metrics. */
async function untilScraped(api: PromApi, rules: number) {
  for (let i = 0; i < 150; i++) {
    const [targets, loaded] = await Promise.all([api.targets(), api.rules()]);
    if (targets.length === 3 && targets.every((t) => t.health === "up") && loaded.length === rules)
      if (loaded.every((r) => r.health === "ok")) return void (await Bun.sleep(2000));
    await Bun.sleep(200);
  }
  throw new Error("Prometheus did not scrape the lab's three targets within 30 s");
}

/** Every alert's state changes over the run, polled every 100 ms: each fault reads its alert's from here. */
class Timeline {
  readonly changes: { alert: string; state: "pending" | "firing" | "inactive"; at: number }[] = [];
  private now = new Map<string, string>();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  start(api: PromApi) {
    this.done = (async () => {
      while (!this.stopped) {
        const states = await activeAlerts(api).catch(() => null);
        if (states) {
          const at = Date.now();
          for (const name of new Set([...states.keys(), ...this.now.keys()])) {
            const state = states.get(name) ?? "inactive";
            if (this.now.get(name) !== state) this.changes.push({ alert: name, state, at });
          }
          this.now = new Map(states);
        }
        await Bun.sleep(100);
      }
    })();
    return this;
  }
  async stop() {
    this.stopped = true;
    await this.done;
  }
  /** when the alert was first in one of `states` at or after `since` */
  first(alert: string, states: string[], since: number): number | null {
    const inState = (at: number) => {
      const last = this.changes.filter((c) => c.alert === alert && c.at <= at).at(-1);
      return !!last && states.includes(last.state);
    };
    if (inState(since)) return since;
    return this.changes.find((c) => c.alert === alert && c.at >= since && states.includes(c.state))?.at ?? null;
  }
}

/** One fault: apply, watch the alert pend, fire and reach the webhook; clear, watch it resolve. */
async function fire(
  api: PromApi,
  a: Alert,
  f: FaultSpec,
  tl: Timeline,
  notified: Notified,
  released: Map<string, number>,
  o: LiveFireOptions,
) {
  const boundMs = f.conditionAfterMs + a.forMs + o.scrapeMs + o.evalMs;
  const fromMs = Date.now();
  if (!f.after) await f.apply();
  const t0 = f.after ? (released.get(f.after) ?? Date.now()) : Date.now();
  const since = (at: number | null) => (at === null ? null : at - t0);
  const deadline = t0 + 2 * boundMs + 15_000;
  let firing: number | null = null,
    note: number | null = null;
  while (Date.now() < deadline && (firing === null || note === null)) {
    firing = tl.first(a.name, ["firing"], t0);
    note = notified.find((x) => x.alert === a.name && x.status === "firing" && x.at >= t0)?.at ?? null;
    await Bun.sleep(100);
  }
  const last = firing === null ? await lastValue(api, a) : "";
  if (!f.after) await f.clear();
  const t1 = f.after ? t0 : Date.now();
  released.set(a.name, t1);
  let resolved: number | null = null;
  for (const until = t1 + (f.resolveWithinMs ?? 30_000 + a.forMs); Date.now() < until; await Bun.sleep(100))
    if ((resolved = tl.first(a.name, ["inactive"], Math.max(t1, firing ?? t1))) !== null) break;
  const r = {
    pendingMs: since(tl.first(a.name, ["pending", "firing"], t0)),
    firingMs: since(firing),
    notifiedMs: since(note),
    resolvedMs: resolved === null ? null : resolved - t1,
  };
  const ok = r.firingMs !== null && r.firingMs <= boundMs && r.notifiedMs !== null && r.resolvedMs !== null;
  const why =
    r.firingMs === null
      ? `never fired within ${fmtS(deadline - t0)}; its expression's last value: ${last}`
      : r.firingMs > boundMs
        ? "fired after its bound"
        : r.notifiedMs === null
          ? "fired, but no webhook arrived"
          : r.resolvedMs === null
            ? "did not resolve after clearing"
            : "fired within its bound, notified, resolved";
  const result: FireResult = { alert: a.name, fault: f.fault, boundMs, ...r, status: ok ? "PASS" : "FAIL", note: why };
  return { result, fromMs, toMs: Date.now() };
}

/** The condition's left side now (the threshold comparison dropped), e.g. the seconds since binance's newest trade. */
async function lastValue(api: PromApi, a: Alert): Promise<string> {
  const r = await api.query(a.condition.replace(/\s*>\s*[\d.]+\s*$/, "")).catch(() => []);
  return r.length ? r.map((x) => Number(x.value[1]).toPrecision(4)).join(", ") : "no series";
}

/** Every dashboard panel's queries over the run, at most ~300 points each: what Grafana would have drawn. */
async function previewPanels(api: PromApi, fromMs: number, toMs: number): Promise<PanelSeries[]> {
  const stepMs = Math.max(1000, (toMs - fromMs) / 300);
  const panels = ((buildDashboard().panels ?? []) as Panel[]).filter((p) => p.type !== "row");
  const out: PanelSeries[] = [];
  for (const p of panels)
    for (const t of (p.targets ?? []) as { expr?: string; legendFormat?: string }[]) {
      if (!t.expr) continue;
      const expr = t.expr.replace(/\$__rate_interval/g, "30s").replace(/\$\w+/g, ".*");
      const r = await api.range(expr, fromMs, toMs, stepMs).catch(() => []);
      out.push({
        panel: p.title ?? String(p.id),
        expr: t.expr,
        series: r.map((s) => ({
          label:
            Object.entries(s.metric)
              .filter(([k]) => k !== "__name__" && k !== "job" && k !== "instance")
              .map(([k, v]) => `${k}=${v}`)
              .join(", ") ||
            p.title ||
            "",
          points: s.values.map(([ts, v]) => [ts * 1000, Number(v)]),
        })),
      });
    }
  return out;
}
