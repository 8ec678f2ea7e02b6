// Live fire, the runner (the stored record is record.ts, the verdict verdict.ts, the report's parts report.ts). In the
// lab, a real Prometheus scrapes the lab (the pipeline exporter and the lab's Redpanda and ClickHouse endpoints) with
// the generated rules loaded, time-compressed by a stated factor, and routes to a real Alertmanager whose webhook is
// ours; on a stack, its own Prometheus and rules. For each alert a fault creates its condition; a 100 ms poll records
// every state change, and fireVerdict judges pending, firing, webhook and resolved against the bound the rule implies.
// A healthy baseline first, during which no alert may fire. Everything started here is stopped here.

import type { Panel } from "@grafana/schema";
import { type RunningAlertmanager, startAlertmanager } from "../../io/alertmanager.ts";
import { connectPrometheus, type PromApi, type RunningPrometheus, startPrometheus } from "../../io/prometheus.ts";
import { EXIT, firstLine, K2Error } from "../../runtime/errors.ts";
import { compress } from "../compress.ts";
import { buildDashboard } from "../dashboard.ts";
import { ALERTS, type Alert, ruleLabels, ruleYaml } from "../rules.ts";
import {
  type FaultSpec,
  type FireRig,
  faultsFor,
  lanePhases,
  prometheusConfig,
  serveLab,
  warmExporter,
} from "./lab.ts";
import { type FireResult, type LiveFireRecord, notRunResult, type PanelSeries } from "./record.ts";
import { baselineFired, fireBound, fireVerdict, firstIn, fmtS, type Notice, type StateChange } from "./verdict.ts";

export type LiveFireOptions = {
  factor: number;
  baselineMs: number;
  alerts: string[];
  log: (m: string) => void;
  /** cleanup to run on Ctrl-C (the runtime's onAbort) */
  onAbort: (f: () => Promise<void>) => void;
};

/** What the faults are watched through: a Prometheus, its rules as loaded, and our webhook's log when there is one. */
type Monitor = {
  api: PromApi;
  alerts: Alert[];
  scrapeMs: number;
  evalMs: number;
  notified: Notice[] | null;
  prometheus: string;
  alertmanager: string | null;
};

/** The lab: start the webhook, Alertmanager and Prometheus on loopback; run the baseline and each fault; stop all. */
export async function runLiveFire(
  rig: FireRig,
  o: LiveFireOptions & { scrapeMs: number; evalMs: number },
): Promise<LiveFireRecord> {
  const notified: Notice[] = [];
  const hook = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      // a body that is not JSON carries no alert to record
      const body = (await req.json().catch(() => ({}))) as {
        alerts?: { status: string; labels: Record<string, string> }[];
      };
      // keyed as the poll keys it: a notice of the absent() guard is not the alert's own (in CI, an OOM'd container's
      // series went missing and its guard's notice came 3 s before the alert itself pended)
      for (const a of body.alerts ?? []) notified.push({ alert: alertKey(a.labels), status: a.status, at: Date.now() });
      return new Response("ok");
    },
  });
  await warmExporter(rig.exporter, o.log);
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
    const r = await runFaults(
      { ...m, prometheus: `Debian's prometheus ${api.version} (${prom.url})` },
      specs,
      o,
      "lab",
    );
    const { scrapes, kept } = rig.endpoints.clickhouse.answered;
    // how loaded the machine was: the embedded engine's reads queue behind the lab's inserts (lib/lab/endpoints.ts)
    if (kept)
      o.log(`the lab's ClickHouse endpoint answered ${kept} of ${scrapes} scrapes with its last read's counters`);
    return r;
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
  options: LiveFireOptions,
): Promise<LiveFireRecord> {
  const { scrapeMs, evalMs } = await api.intervals();
  const specs = faults(scrapeMs);
  const loaded = await api.rules();
  const alerts: Alert[] = [];
  for (const f of specs.filter((x) => options.alerts.includes(x.alert) && !x.notRun)) {
    const rule = loaded.find((r) => r.type === "alerting" && r.name === f.alert);
    if (!rule) {
      f.notRun = `no alerting rule ${f.alert} is loaded in ${api.url}: 04-alerting --write <checkout> adds it`;
      continue;
    }
    const a = compress(ALERTS.find((x) => x.name === f.alert)!, options.factor, scrapeMs);
    alerts.push({ ...a, forMs: (rule.duration ?? a.forMs / 1000) * 1000 });
  }
  options.log(`Prometheus ${api.version} at ${api.url}: scrape ${scrapeMs / 1000} s, evaluation ${evalMs / 1000} s`);
  await untilScraped(api, alerts, null, options.log);
  await untilQuiet(api, 30_000 + 2 * (scrapeMs + evalMs), options.log);
  const m = { api, alerts, scrapeMs, evalMs, notified: null, alertmanager: null };
  return runFaults({ ...m, prometheus: `${api.url} (Prometheus ${api.version})` }, specs, options, "live");
}

/** The baseline, then each fault in turn; a fault in place is cleared on Ctrl-C or any failure. */
async function runFaults(
  monitor: Monitor,
  all: FaultSpec[],
  options: LiveFireOptions,
  mode: LiveFireRecord["mode"],
): Promise<LiveFireRecord> {
  const specs = all.filter((f) => options.alerts.includes(f.alert));
  const current = new Set<FaultSpec>();
  const clearCurrent = async () => {
    for (const f of current) await f.clear().catch(() => {}); // best effort on the way out: the next is still cleared
    current.clear();
  };
  options.onAbort(clearCurrent);
  const fromMs = Date.now();
  const tl = new Timeline().start(monitor.api);
  options.onAbort(() => tl.stop());
  try {
    await Bun.sleep(options.baselineMs);
    const baseline = baselineFired(tl.changes);
    options.log(
      `baseline ${options.baselineMs / 1000} s: ${baseline.length ? `fired ${baseline.join(", ")}` : "no alert"}`,
    );
    const byAlert = new Map<string, { result: FireResult; fromMs?: number; toMs?: number }>();
    const released = new Map<string, number>();
    const lane = async (fs: FaultSpec[]) => {
      for (const f of fs) {
        const a = monitor.alerts.find((x) => x.name === f.alert);
        if (f.notRun || !a) {
          byAlert.set(f.alert, { result: notRunResult(f.alert, f.fault, f.notRun ?? "its rule is not loaded") });
          continue;
        }
        options.log(`${f.alert}: ${f.fault}`);
        current.add(f);
        const r = await fire(monitor, a, f, tl, released);
        current.delete(f);
        byAlert.set(f.alert, r);
        options.log(
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
      factor: options.factor,
      scrapeMs: monitor.scrapeMs,
      evalMs: monitor.evalMs,
      prometheus: monitor.prometheus,
      alertmanager: monitor.alertmanager,
      baseline: { ms: options.baselineMs, fired: baseline },
      results,
      window: { fromMs, toMs },
      faults,
      preview: await previewPanels(monitor.api, fromMs, toMs),
    };
  } finally {
    await clearCurrent();
    await tl.stop();
  }
}

/**
 * Alert name -> its state now; several series of one alert (per exchange) count as firing if any fires. A series the
 * absent() guard raised (its metric missing: a source down, a scrape too slow) carries only the rule's own labels; it
 * is keyed "<name> (metric absent)", so that a fault's alert counts only when its condition holds, while the baseline
 * sees both.
 */
async function activeAlerts(api: PromApi): Promise<Map<string, "pending" | "firing">> {
  const now = new Map<string, "pending" | "firing">();
  for (const a of await api.alerts()) {
    const key = alertKey(a.labels);
    if (now.get(key) !== "firing") now.set(key, a.state);
  }
  return now;
}

/** An alert's name, or "<name> (metric absent)" for a series of its absent() guard (only the rule's own labels). */
function alertKey(labels: Record<string, string>) {
  const fromExpr = Object.keys(labels).some((k) => k !== "alertname" && !RULE_LABELS.has(k));
  return fromExpr ? (labels.alertname ?? "") : `${labels.alertname} ${GUARD}`;
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
    // a stack's targets: at least one found (right after start Prometheus lists none, and nothing is down yet)
    const found = targets === null ? up.length > 0 : up.length === targets;
    if (ok && !down.length && found) return void (await Bun.sleep(2000));
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
  readonly changes: StateChange[] = [];
  private now = new Map<string, string>();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  start(api: PromApi) {
    this.done = (async () => {
      while (!this.stopped) {
        const states = await activeAlerts(api).catch(() => null); // a poll that fails: the next one, 100 ms on
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
}

/** One fault: apply, watch the alert pend, fire and reach the webhook; clear, watch it resolve; fireVerdict judges. */
async function fire(monitor: Monitor, rule: Alert, spec: FaultSpec, tl: Timeline, released: Map<string, number>) {
  const bound = {
    conditionAfterMs: spec.conditionAfterMs,
    showsAfterHoldMs: spec.showsAfterHoldMs ?? 0,
    forMs: rule.forMs,
    scrapeMs: monitor.scrapeMs,
    evalMs: monitor.evalMs,
    pollMs: POLL_MS,
    slowestScrapeMs: 0,
  };
  const fromMs = Date.now();
  if (!spec.after) await spec.apply();
  const t0 = spec.after ? (released.get(spec.after) ?? Date.now()) : Date.now();
  const waitedMs = 2 * fireBound({ ...bound, heldAfterMs: null }) + 15_000;
  let held: number | null = null;
  const heard = () =>
    !monitor.notified || monitor.notified.some((x) => x.alert === rule.name && x.status === "firing" && x.at >= t0);
  while (Date.now() < t0 + waitedMs && !(firstIn(tl.changes, rule.name, ["firing"], t0) !== null && heard())) {
    if (held === null && spec.holds?.()) held = Date.now();
    await Bun.sleep(100);
  }
  const until = Date.now();
  const fired = firstIn(tl.changes, rule.name, ["firing"], t0) !== null;
  const last = fired ? "" : await lastValue(monitor.api, rule);
  const slowest = await slowestScrapeMs(monitor.api, t0);
  if (!spec.after) await spec.clear();
  const t1 = spec.after ? t0 : Date.now();
  released.set(rule.name, t1);
  const resolveWithin = spec.resolveWithinMs ?? 30_000 + rule.forMs + 2 * (monitor.scrapeMs + monitor.evalMs);
  for (const end = t1 + resolveWithin; Date.now() < end; await Bun.sleep(100)) {
    const firing = firstIn(tl.changes, rule.name, ["firing"], t0);
    if (firstIn(tl.changes, rule.name, ["inactive"], Math.max(t1, firing ?? t1)) !== null) break;
  }
  const heldAfterMs = held === null ? null : held - t0;
  const boundMs = fireBound({ ...bound, heldAfterMs, slowestScrapeMs: slowest });
  const changes = [...tl.changes];
  const obs = {
    alert: rule.name,
    fault: spec.fault,
    t0,
    t1,
    boundMs,
    changes,
    notices: monitor.notified,
    until,
    waitedMs,
  };
  const result = fireVerdict({ ...obs, lastValue: last, heldAfterMs, slowestScrapeMs: slowest });
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
async function lastValue(api: PromApi, alert: Alert): Promise<string> {
  const left = alert.condition.replace(/\s*>\s*[\d.]+\s*$/, "");
  const r = await api.query(left).catch((e: unknown) => `the query failed: ${firstLine(e)}`);
  if (typeof r === "string") return r;
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
      const r = await api
        .range(expr, fromMs, toMs, stepMs)
        .catch((e: unknown) => `range query failed: ${firstLine(e)}`);
      if (typeof r === "string") {
        out.push({ panel: p.title ?? String(p.id), expr: t.expr, series: [], error: r });
        continue;
      }
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
