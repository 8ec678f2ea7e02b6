// Live fire in the lab: a real Prometheus scrapes the lab (the pipeline exporter and the lab's Redpanda and ClickHouse
// endpoints) with the generated rules loaded, time-compressed by a stated factor, and routes to a real Alertmanager
// whose webhook is ours. For each alert a fault creates its condition; measured: time to pending, to firing, to the
// webhook, and to resolved after the fault clears, against the bound the rule implies (the time the fault needs to
// make the condition true + `for` + one scrape + one evaluation). A healthy baseline first, during which no alert may
// fire. Everything started here is stopped here.

import type { Panel } from "@grafana/schema";
import { type RunningAlertmanager, startAlertmanager } from "../io/alertmanager.ts";
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { connectPrometheus, type PromApi, type RunningPrometheus, startPrometheus } from "../io/prometheus.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { clickhouseMetrics, redpandaMetrics } from "../lab/endpoints.ts";
import { EXCHANGE_SHARE } from "../lab/instruments.ts";
import type { LabTraffic } from "../lab/lab.ts";
import type { LabOffload } from "../lab/offload.ts";
import { runLabContainer } from "../lab/stack.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import type { Status } from "../verdict/status.ts";
import { compress, compressedMs } from "./compress.ts";
import { buildDashboard } from "./dashboard.ts";
import { PipelineExporter } from "./exporter.ts";
import { DELAY_WINDOW_MS } from "./exporter-sql.ts";
import { ALERTS, type Alert, ruleLabels, ruleYaml } from "./rules.ts";

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
  /** lab: our Prometheus and Alertmanager on the lab; live: a stack's Prometheus, step 3's faults */
  mode: "lab" | "live";
  factor: number;
  scrapeMs: number;
  evalMs: number;
  prometheus: string;
  /** null when no Alertmanager of ours routes to a webhook (live: notification is the stack's own) */
  alertmanager: string | null;
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

export type FaultSpec = {
  alert: string;
  fault: string;
  /** how long after the fault starts its condition holds, by construction */
  conditionAfterMs: number;
  /** apply the fault; resolves when it is in place (a stall-and-release returns at the release, timed from there) */
  apply(): Promise<void>;
  clear(): Promise<void>;
  /** measured from another fault's clearing (its effect outlives it), with nothing of its own to apply */
  after?: string;
  /** how long after clearing the alert may take to resolve (default 30 s + for) */
  resolveWithinMs?: number;
  /** why this fault cannot run here (reported NOT RUN) */
  notRun?: string;
  /**
   * Which faults may run at the same time: a lane's faults run one after another, the lanes of one phase side by side
   * (phases in LANE_PHASES order). Unset: every fault alone, in order (a stack's faults).
   */
  lane?: Lane;
  /** the condition holds now, by the lab's ground truth: the bound then starts from when it first did */
  holds?: () => boolean;
  /** after `holds`, how long until the condition shows in the metrics (an increase needs two scrapes around it) */
  showsAfterHoldMs?: number;
};

/**
 * A consumer stall holds every exchange's trades, so it sets off FeedHandlerDown and raises the offload's lag: it runs
 * alone. The offload faults touch only the watermark, and the exchange faults (one exchange silent or refused, a
 * container of ours out of memory) only their own exchange or container: those two lanes run side by side.
 */
export type Lane = "stall" | "offload" | "exchange";
export const LANE_PHASES: Lane[][] = [["stall"], ["offload", "exchange"]];
const OOM_CONTAINER = "k2-lab-oom";
const BUSIEST = Math.max(...Object.values(EXCHANGE_SHARE));

/** The faults of step 3's kinds, one per alert, each with the time its condition needs. */
export function faultsFor(rig: LabRig, factor: number, scrapeMs: number): FaultSpec[] {
  const c = rig.traffic.control;
  return [
    {
      alert: "FeedHandlerDown",
      fault: "binance's handler delivers nothing",
      lane: "exchange",
      conditionAfterMs: compressedMs(THRESHOLDS.feedStaleMs, factor, scrapeMs) + rig.flushMs,
      apply: async () => void c.silenced.add("binance"),
      clear: async () => void c.silenced.delete("binance"),
    },
    {
      alert: "RedpandaConsumerLagHigh",
      fault: "the consumer stalled",
      lane: "stall",
      conditionAfterMs: (THRESHOLDS.consumerLagMessages / (c.rate * BUSIEST)) * 1000,
      // the lag Redpanda's endpoint reports is the lab's backlog: the arrivals are Poisson, so it crosses when it does
      holds: () => Math.max(...Object.values(rig.traffic.summary().backlog)) > THRESHOLDS.consumerLagMessages,
      apply: async () => void (c.paused = true),
      clear: async () => void (c.paused = false),
    },
    {
      ...delayAfterStall("the consumer stalled, then released", rig.flushMs, scrapeMs, rig.exporter.delayWindowMs),
      lane: "stall",
    },
    insertFailure(rig, scrapeMs),
    {
      alert: "IcebergOffloadLag",
      fault: "the offload job stopped",
      lane: "offload",
      conditionAfterMs: compressedMs(THRESHOLDS.offloadLagMinutes * 60_000, factor, scrapeMs),
      apply: async () => rig.offload.stop(),
      clear: async () => {
        rig.offload.start();
        await rig.offload.runOnce();
      },
    },
    offloadFailure(rig.offload),
    { ...oomFault(rig.docker), lane: "exchange" },
  ];
}

/**
 * IcebergOffloadFailure: every run fails until cleared. The runs come on the job's schedule, each as long as a loaded
 * machine makes it: the bound starts from the run that makes the failures consecutive beyond the threshold, by the
 * job's own record, when that is later than the schedule alone implies.
 */
function offloadFailure(offload: LabOffload): FaultSpec {
  let since = Number.POSITIVE_INFINITY;
  return {
    alert: "IcebergOffloadFailure",
    fault: "the offload job failing run after run",
    lane: "offload",
    conditionAfterMs: (THRESHOLDS.offloadFailedRunsAbove + 1) * offload.everyMs,
    holds: () => offload.runs.filter((r) => r.at >= since && !r.ok).length > THRESHOLDS.offloadFailedRunsAbove,
    apply: async () => {
      since = Date.now();
      offload.fault = "the cold store refused the write (injected)";
    },
    clear: async () => {
      offload.fault = undefined;
      await offload.runOnce();
    },
  };
}

/**
 * ClickHouseBronzeInsertFailure: bronze detached under its MV, so the consumer's next insert fails. When that insert
 * comes is the consumer's business on a loaded machine: the bound starts from the first refused insert, by the lab's
 * count, when that is later than a flush.
 */
function insertFailure(rig: LabRig, scrapeMs: number): FaultSpec {
  let failedBefore = Number.POSITIVE_INFINITY;
  return {
    alert: "ClickHouseBronzeInsertFailure",
    fault: "inserts failing (bronze_trades_binance detached under its MV)",
    lane: "exchange",
    conditionAfterMs: rig.flushMs + 2 * scrapeMs,
    holds: () => rig.traffic.summary().failedInserts > failedBefore,
    showsAfterHoldMs: 2 * scrapeMs,
    apply: async () => {
      failedBefore = rig.traffic.summary().failedInserts;
      await rig.target.command(`DETACH TABLE ${rig.target.database}.bronze_trades_binance`);
    },
    clear: () => rig.target.command(`ATTACH TABLE ${rig.target.database}.bronze_trades_binance`),
  };
}

/**
 * MVProcessingDelay from a consumer stall's release: the backlog lands with the delay it waited, and the exporter
 * averages delay over one minute (a real minute: it is the component, not the rule), so it resolves a minute later.
 */
export const delayAfterStall = (
  stall: string,
  flushMs: number,
  scrapeMs: number,
  delayWindowMs = DELAY_WINDOW_MS,
): FaultSpec => ({
  alert: "MVProcessingDelay",
  fault: `${stall} (timed from the release)`,
  conditionAfterMs: flushMs + scrapeMs,
  after: "RedpandaConsumerLagHigh",
  resolveWithinMs: delayWindowMs + 30_000,
  apply: async () => {},
  clear: async () => {},
});

/**
 * ServiceOOMKill: a container of ours (no network, 16 MB) that outgrows its memory and is restarted by Docker. How soon
 * that happens is the engine's business (creating a container on vfs storage takes seconds on a loaded machine), so
 * the bound starts from when Docker first reports the kill or the restart (inspect, every 100 ms), as the exporter
 * sees it at its next scrape.
 */
export const oomFault = (docker: DockerTarget | null): FaultSpec => {
  let seenAt: number | null = null;
  let poll: ReturnType<typeof setInterval> | undefined;
  const inspect = async () => {
    const i = await docker!.docker
      .getContainer(OOM_CONTAINER)
      .inspect()
      .catch(() => null); // not created yet, or removed at clearing: nothing seen this time
    if (i && (i.RestartCount > 0 || i.State.OOMKilled)) seenAt ??= Date.now();
  };
  return {
    alert: "ServiceOOMKill",
    fault: `${OOM_CONTAINER} (16 MB, no network) runs out of memory and restarts`,
    conditionAfterMs: 3000,
    notRun: docker ? undefined : "no Docker engine answers (sudo bun run docker)",
    holds: () => seenAt !== null,
    apply: async () => {
      seenAt = null;
      await runLabContainer(docker!, {
        name: OOM_CONTAINER,
        cmd: 'x=a; while :; do x="$x$x"; done',
        memoryMb: 16,
        restart: { Name: "on-failure", MaximumRetryCount: 5 },
      });
      poll = setInterval(inspect, 100);
    },
    clear: async () => {
      clearInterval(poll);
      await docker!.docker.getContainer(OOM_CONTAINER).remove({ force: true });
    },
  };
};

/** The lab's scrape endpoints on one loopback port: the exporter, Redpanda's and ClickHouse's. */
export function serveLab(rig: Omit<LabRig, "offload" | "docker" | "flushMs">, port = 0) {
  return Bun.serve({
    port,
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

export function prometheusConfig(labPort: number, amUrl: string | null, scrapeMs: number, evalMs: number): string {
  const job = (name: string, path: string) => ({
    job_name: name,
    metrics_path: path,
    static_configs: [{ targets: [`127.0.0.1:${labPort}`] }],
  });
  return JSON.stringify({
    global: { scrape_interval: `${scrapeMs}ms`, evaluation_interval: `${evalMs}ms` },
    rule_files: ["k2-alerts.yml"],
    alerting: { alertmanagers: amUrl ? [{ static_configs: [{ targets: [amUrl.replace(/^http:\/\//, "")] }] }] : [] },
    scrape_configs: [
      job("k2-pipeline", "/metrics"),
      job("redpanda", "/redpanda/public_metrics"),
      job("clickhouse", "/clickhouse/metrics"),
    ],
  });
}

export type LiveFireOptions = {
  factor: number;
  baselineMs: number;
  alerts: string[];
  log: (m: string) => void;
  /** cleanup to run on Ctrl-C (the runtime's onAbort) */
  onAbort: (f: () => Promise<void>) => void;
};

type Notified = { alert: string; status: string; at: number }[];

/** What the faults are watched through: a Prometheus, its rules as loaded, and our webhook's log when there is one. */
type Monitor = {
  api: PromApi;
  alerts: Alert[];
  scrapeMs: number;
  evalMs: number;
  notified: Notified | null;
  prometheus: string;
  alertmanager: string | null;
};

/** The lab: start the webhook, Alertmanager and Prometheus on loopback; run the baseline and each fault; stop all. */
export async function runLiveFire(
  rig: LabRig,
  o: LiveFireOptions & { scrapeMs: number; evalMs: number },
): Promise<LiveFireRecord> {
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
  o.onAbort(stopAll);
  try {
    am = await startAlertmanager(`http://127.0.0.1:${hook.port}/`);
    const specs = faultsFor(rig, o.factor, o.scrapeMs).filter((f) => o.alerts.includes(f.alert));
    const alerts = ALERTS.filter((a) => specs.some((f) => f.alert === a.name && !f.notRun)).map((a) =>
      compress(a, o.factor, o.scrapeMs),
    );
    prom = await startPrometheus(prometheusConfig(lab.port!, am.url, o.scrapeMs, o.evalMs), {
      "k2-alerts.yml": ruleYaml(alerts),
    });
    const api = await connectPrometheus(prom.url);
    o.log(`Prometheus ${api.version} at ${prom.url}, Alertmanager at ${am.url}, rules ${o.factor}x compressed`);
    await untilScraped(api, alerts, 3, o.log);
    const m = { api, alerts, scrapeMs: o.scrapeMs, evalMs: o.evalMs, notified, alertmanager: am.url };
    return await runFaults({ ...m, prometheus: `Debian's prometheus ${api.version} (${prom.url})` }, specs, o, "lab");
  } finally {
    await stopAll();
  }
}

/**
 * A stack's Prometheus (or one scraping the lab as a stack's would): its own rules, intervals and alerts, read from its
 * API; `factor` is what its rules are compressed by (1 for a real stack). No webhook of ours: notification is the
 * stack's own Alertmanager's, so the verdict rests on firing within the bound and resolving.
 */
export async function runLiveOnStack(
  api: PromApi,
  faults: (scrapeMs: number) => FaultSpec[],
  o: LiveFireOptions,
): Promise<LiveFireRecord> {
  const { scrapeMs, evalMs } = await api.intervals();
  const specs = faults(scrapeMs);
  const loaded = await api.rules();
  const alerts: Alert[] = [];
  for (const f of specs.filter((x) => o.alerts.includes(x.alert) && !x.notRun)) {
    const rule = loaded.find((r) => r.type === "alerting" && r.name === f.alert);
    if (!rule) {
      f.notRun = `no alerting rule ${f.alert} is loaded in ${api.url}: 04-alerting --write <checkout> adds it`;
      continue;
    }
    const a = compress(ALERTS.find((x) => x.name === f.alert)!, o.factor, scrapeMs);
    alerts.push({ ...a, forMs: (rule.duration ?? a.forMs / 1000) * 1000 });
  }
  o.log(`Prometheus ${api.version} at ${api.url}: scrape ${scrapeMs / 1000} s, evaluation ${evalMs / 1000} s`);
  await untilScraped(api, alerts, null, o.log);
  await untilQuiet(api, 30_000 + 2 * (scrapeMs + evalMs), o.log);
  const m = { api, alerts, scrapeMs, evalMs, notified: null, alertmanager: null };
  return runFaults({ ...m, prometheus: `${api.url} (Prometheus ${api.version})` }, specs, o, "live");
}

/** The baseline, then each fault in turn; a fault in place is cleared on Ctrl-C or any failure. */
async function runFaults(
  m: Monitor,
  all: FaultSpec[],
  o: LiveFireOptions,
  mode: LiveFireRecord["mode"],
): Promise<LiveFireRecord> {
  const specs = all.filter((f) => o.alerts.includes(f.alert));
  const current = new Set<FaultSpec>();
  const clearCurrent = async () => {
    for (const f of current) await f.clear().catch(() => {}); // best effort on the way out: the next is still cleared
    current.clear();
  };
  o.onAbort(clearCurrent);
  const fromMs = Date.now();
  const tl = new Timeline().start(m.api);
  o.onAbort(() => tl.stop());
  try {
    await Bun.sleep(o.baselineMs);
    const baseline = [...new Set(tl.changes.filter((c) => c.state !== "inactive").map((c) => c.alert))];
    o.log(`baseline ${o.baselineMs / 1000} s: ${baseline.length ? `fired ${baseline.join(", ")}` : "no alert"}`);
    const byAlert = new Map<string, { result: FireResult; fromMs?: number; toMs?: number }>();
    const released = new Map<string, number>();
    const lane = async (fs: FaultSpec[]) => {
      for (const f of fs) {
        const a = m.alerts.find((x) => x.name === f.alert);
        if (f.notRun || !a) {
          byAlert.set(f.alert, { result: notRunResult(f.alert, f.fault, f.notRun ?? "its rule is not loaded") });
          continue;
        }
        o.log(`${f.alert}: ${f.fault}`);
        current.add(f);
        const r = await fire(m, a, f, tl, released);
        current.delete(f);
        byAlert.set(f.alert, r);
        o.log(
          `${f.alert}: ${r.result.status} (firing ${fmtS(r.result.firingMs)} of a ${fmtS(r.result.boundMs)} bound)`,
        );
      }
    };
    for (const phase of lanePhases(specs)) await Promise.all(phase.map(lane));
    const done = specs.map((f) => ({ f, ...byAlert.get(f.alert)! }));
    const results = done.map((d) => d.result);
    const faults = done.flatMap((d) =>
      d.fromMs === undefined || d.toMs === undefined ? [] : [{ alert: d.f.alert, fromMs: d.fromMs, toMs: d.toMs }],
    );
    const toMs = Date.now();
    await tl.stop();
    return {
      mode,
      factor: o.factor,
      scrapeMs: m.scrapeMs,
      evalMs: m.evalMs,
      prometheus: m.prometheus,
      alertmanager: m.alertmanager,
      baseline: { ms: o.baselineMs, fired: baseline },
      results,
      window: { fromMs, toMs },
      faults,
      preview: await previewPanels(m.api, fromMs, toMs),
    };
  } finally {
    await clearCurrent();
    await tl.stop();
  }
}

export const notRunResult = (alert: string, fault: string, note: string): FireResult => ({
  alert,
  fault,
  boundMs: 0,
  pendingMs: null,
  firingMs: null,
  notifiedMs: null,
  resolvedMs: null,
  status: "NOT RUN",
  note,
});

/** The faults in phases of lanes (LANE_PHASES); faults with no lane each alone, in their order, after the rest. */
export function lanePhases(specs: FaultSpec[]): FaultSpec[][][] {
  const phases = LANE_PHASES.map((phase) =>
    phase.map((l) => specs.filter((f) => f.lane === l)).filter((fs) => fs.length),
  );
  return [...phases, ...specs.filter((f) => !f.lane).map((f) => [[f]])].filter((p) => p.length);
}

const fmtS = (ms: number | null) => (ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`);

/**
 * Alert name -> its state now; several series of one alert (per exchange) count as firing if any fires. A series the
 * absent() guard raised (its metric missing: a source down, a scrape too slow) carries only the rule's own labels; it
 * is keyed "<name> (metric absent)", so that a fault's alert counts only when its condition holds, while the baseline
 * sees both.
 */
async function activeAlerts(api: PromApi): Promise<Map<string, "pending" | "firing">> {
  const now = new Map<string, "pending" | "firing">();
  for (const a of await api.alerts()) {
    const fromExpr = Object.keys(a.labels).some((k) => k !== "alertname" && !RULE_LABELS.has(k));
    const key = fromExpr ? a.labels.alertname! : `${a.labels.alertname} ${GUARD}`;
    if (now.get(key) !== "firing") now.set(key, a.state);
  }
  return now;
}
const GUARD = "(metric absent)";
const POLL_MS = 100;
/** The labels a rule sets itself (ours: severity and component; a stack's commonly a team too). */
const RULE_LABELS = new Set([...Object.keys(ruleLabels(ALERTS[0]!)), "team"]);

/**
 * Every rule to be fired evaluated once without error, and its targets scraped, so that the absent() guards see the
 * metrics before the baseline starts: the lab's own Prometheus must have `targets` up; a stack's may have a target
 * down for good (the baseline then says what that sets off), so after 30 s it goes on, naming them.
 */
async function untilScraped(api: PromApi, alerts: Alert[], targets: number | null, log: (m: string) => void) {
  let down: string[] = [];
  for (let i = 0; i < 150; i++) {
    const [up, loaded] = await Promise.all([api.targets(), api.rules()]);
    down = up.filter((t) => t.health !== "up").map((t) => t.scrapeUrl);
    const ok = alerts.every((a) => loaded.some((r) => r.name === a.name && r.health === "ok"));
    if (ok && !down.length && (targets === null || up.length === targets)) return void (await Bun.sleep(2000));
    await Bun.sleep(200);
  }
  if (targets === null && down.length) return log(`targets still down after 30 s: ${down.join(", ")}`);
  if (targets === null && !alerts.length) return;
  throw new K2Error(
    `Prometheus at ${api.url} did not ${targets === null ? "evaluate the rules" : `scrape ${targets} targets`} ` +
      "within 30 s: its /targets and /rules pages say why",
    EXIT.unreachable,
  );
}

/**
 * A stack's alerts settled before the baseline (a target just scraped for the first time, a condition left from before
 * clearing): up to `ms`, then the baseline reports whatever is still active.
 */
async function untilQuiet(api: PromApi, ms: number, log: (m: string) => void) {
  let active: string[] = [];
  for (const until = Date.now() + ms; Date.now() < until; await Bun.sleep(500))
    if (!(active = [...(await activeAlerts(api)).keys()]).length) return;
  log(`active before the baseline, after ${ms / 1000} s: ${active.join(", ")}`);
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
        await Bun.sleep(POLL_MS);
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
async function fire(m: Monitor, a: Alert, f: FaultSpec, tl: Timeline, released: Map<string, number>) {
  // a rule fires at the first evaluation at least `for` after it went pending: `for` rounded up to evaluations; and
  // the state is seen by a poll every POLL_MS
  const after = m.scrapeMs + m.evalMs + Math.ceil(a.forMs / m.evalMs) * m.evalMs + POLL_MS;
  let boundMs = f.conditionAfterMs + after;
  const fromMs = Date.now();
  if (!f.after) await f.apply();
  const t0 = f.after ? (released.get(f.after) ?? Date.now()) : Date.now();
  const since = (at: number | null) => (at === null ? null : at - t0);
  const deadline = t0 + 2 * boundMs + 15_000;
  let firing: number | null = null,
    note: number | null = null,
    held: number | null = null;
  while (Date.now() < deadline && (firing === null || (m.notified && note === null))) {
    if (held === null && f.holds?.()) boundMs = (held = Date.now()) - t0 + (f.showsAfterHoldMs ?? 0) + after;
    firing = tl.first(a.name, ["firing"], t0);
    note = m.notified?.find((x) => x.alert === a.name && x.status === "firing" && x.at >= t0)?.at ?? null;
    await Bun.sleep(100);
  }
  const last = firing === null ? await lastValue(m.api, a) : "";
  // a sample counts from when its scrape ends, not when it starts: the slowest scrape of the fault is part of the bound
  const scrapeMs = await slowestScrapeMs(m.api, t0);
  boundMs += scrapeMs;
  if (!f.after) await f.clear();
  const t1 = f.after ? t0 : Date.now();
  released.set(a.name, t1);
  let resolved: number | null = null;
  const resolveWithin = f.resolveWithinMs ?? 30_000 + a.forMs + 2 * (m.scrapeMs + m.evalMs);
  for (const until = t1 + resolveWithin; Date.now() < until; await Bun.sleep(100))
    if ((resolved = tl.first(a.name, ["inactive"], Math.max(t1, firing ?? t1))) !== null) break;
  const r = {
    pendingMs: since(tl.first(a.name, ["pending", "firing"], t0)),
    firingMs: since(firing),
    notifiedMs: since(note),
    resolvedMs: resolved === null ? null : resolved - t1,
  };
  const heard = !m.notified || r.notifiedMs !== null;
  const ok = r.firingMs !== null && r.firingMs <= boundMs && heard && r.resolvedMs !== null;
  const why =
    r.firingMs === null
      ? `never fired within ${fmtS(deadline - t0)}; its expression's last value: ${last}`
      : r.firingMs > boundMs
        ? "fired after its bound"
        : !heard
          ? "fired, but no webhook arrived"
          : r.resolvedMs === null
            ? "did not resolve after clearing"
            : "fired within its bound, notified, resolved";
  const truth =
    (held === null ? "" : ` (its condition held ${fmtS(held - t0)} after the fault, by the lab's count)`) +
    (scrapeMs ? `; the bound includes the slowest scrape, ${fmtS(scrapeMs)}` : "");
  const result: FireResult = {
    alert: a.name,
    fault: f.fault,
    boundMs,
    ...r,
    status: ok ? "PASS" : "FAIL",
    note: why + truth,
  };
  return { result, fromMs, toMs: Date.now() };
}

/**
 * The slowest scrape Prometheus recorded from `fromMs` to now (its own scrape_duration_seconds), in ms; 0 when it has
 * none (the bound is then the rule's alone, as the note says by omission).
 */
async function slowestScrapeMs(api: PromApi, fromMs: number): Promise<number> {
  const s = Math.max(1, Math.ceil((Date.now() - fromMs) / 1000));
  const r = await api.query(`max(max_over_time(scrape_duration_seconds[${s}s]))`).catch(() => []); // see above
  const v = Number(r[0]?.value[1]);
  return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : 0;
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
