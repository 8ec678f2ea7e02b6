// The live-fire report's parts, from a stored run: the table the issue asks for (alert, fault, bound, pending,
// firing, notified, resolved, verdict), the baseline, and a static preview of the dashboard's panels over the run
// with each fault's interval shaded, since Grafana itself cannot run here.
import type { Report } from "../../report/document.ts";
import { Plot, STATUS_COLOR } from "../../report/plot.ts";
import type { FireResult, LiveFireRecord } from "./record.ts";

const s = (ms: number | null) => (ms === null ? "–" : `${(ms / 1000).toFixed(1)} s`);

export function liveFireTable(doc: Report, record: LiveFireRecord) {
  if (record.mode === "live") {
    doc.md`## Every alert, fired through the stack's Prometheus`;
    const scale = record.factor === 1 ? "as written" : `compressed ${record.factor}x, as this run was told`;
    doc.md`Prometheus (${record.prometheus}) scraped every ${record.scrapeMs / 1000} s and evaluated its own rules every
      ${record.evalMs / 1000} s (${scale}); the
      faults were step 3's, through Docker, each journaled before it was applied. Notification is the stack's own
      Alertmanager's and is not observed here: the verdict is firing within the bound, then resolving.`;
  } else {
    doc.md`## Every alert, fired in the lab`;
    const { prometheus, scrapeMs, evalMs } = record;
    doc.md`Prometheus (${prometheus}) scraped the lab every ${scrapeMs / 1000} s and evaluated the rules every
      ${evalMs / 1000} s, routing to Alertmanager (${record.alertmanager ?? ""}) and its webhook here. ${
        record.factor === 1
          ? "Full scale: the rules as written."
          : `Time-compressed ${record.factor}x: the same expressions with for, windows and time thresholds ` +
            `divided by ${record.factor}, a window or time threshold never under four scrapes; counts unchanged.`
      }`;
  }
  doc.md`Times are from the fault's start; resolved is from its clearing. The bound is the time the fault needs to
    make the condition true, plus for, one scrape and one evaluation. Pending and firing are when a 100 ms poll of
    /api/v1/alerts first saw the state, so the webhook can come up to that much before them.`;
  doc.note(
    record.baseline.fired.length ? "FAIL" : "PASS",
    record.baseline.fired.length
      ? `During the ${record.baseline.ms / 1000} s healthy baseline these fired or pended: ` +
          `${record.baseline.fired.join(", ")}.`
      : `No alert pended or fired during the ${record.baseline.ms / 1000} s healthy baseline.`,
  );
  doc.table(
    record.results.map((x) => ({
      alert: x.alert,
      fault: x.fault,
      bound: s(x.boundMs),
      pending: s(x.pendingMs),
      firing: s(x.firingMs),
      notified: s(x.notifiedMs),
      resolved: s(x.resolvedMs),
      status: x.status,
      note: x.note,
    })),
    [
      { key: "alert", label: "Alert" },
      { key: "fault", label: "Fault" },
      { key: "bound", label: "Bound", align: "right" },
      { key: "pending", label: "Pending", align: "right" },
      { key: "firing", label: "Firing", align: "right" },
      { key: "notified", label: "Notified", align: "right" },
      { key: "resolved", label: "Resolved", align: "right" },
      { key: "status", label: "Status" },
      { key: "note", label: "Note" },
    ],
    { caption: "Live fire: each alert against its bound", summary: true },
  );
}

type Moment = { alert: string; event: string; s: number };
const EVENTS = ["pending", "firing", "notified", "resolved"] as const;
const EVENT_COLOR = [STATUS_COLOR.WARN, STATUS_COLOR.FAIL, STATUS_COLOR.INFO, STATUS_COLOR.PASS];

/**
 * Each alert's states in seconds from its fault's start: pending, firing and notified as measured, resolved from the
 * clearing (so at the fault's length plus the time to resolve). An alert without a fault of its own (measured after
 * another's clearing) has no window drawn.
 */
export function timelineOf(r: Pick<LiveFireRecord, "faults" | "results">) {
  const length = new Map(r.faults.map((f) => [f.alert, (f.toMs - f.fromMs) / 1000]));
  const moments: Moment[] = [];
  const add = (result: FireResult, event: string, ms: number | null, from = 0) => {
    if (ms !== null) moments.push({ alert: result.alert, event, s: from + ms / 1000 });
  };
  for (const x of r.results) {
    add(x, "pending", x.pendingMs);
    add(x, "firing", x.firingMs);
    add(x, "notified", x.notifiedMs);
    const cleared = length.get(x.alert);
    if (cleared !== undefined) add(x, "resolved", x.resolvedMs, cleared);
  }
  const windows = r.results.flatMap((x) => {
    const to = length.get(x.alert);
    return to === undefined ? [] : [{ alert: x.alert, from: 0, to }];
  });
  return { moments, windows, bounds: r.results.map((x) => ({ alert: x.alert, s: x.boundMs / 1000 })) };
}

/** The live fire over time: per alert, its fault's window, when it pended, fired, was notified and resolved. */
export function liveFireTimeline(doc: Report, record: LiveFireRecord) {
  if (!record.results.length) return;
  const { moments, windows, bounds } = timelineOf(record);
  doc.figure(
    {
      height: 50 + 30 * record.results.length,
      marginLeft: 200,
      x: { label: "seconds from the fault's start", grid: true },
      y: { label: null, domain: record.results.map((x) => x.alert) },
      symbol: { legend: true, domain: [...EVENTS] },
      color: { domain: [...EVENTS], range: EVENT_COLOR },
      marks: [
        Plot.barX(windows, { y: "alert", x1: "from", x2: "to", fill: STATUS_COLOR.FAIL, fillOpacity: 0.12 }),
        Plot.tickX(bounds, { y: "alert", x: "s", stroke: "#1b1f24", strokeWidth: 2 }),
        // notified is hollow and larger: it is usually within a poll of firing, which stays visible inside it
        Plot.dot(
          moments.filter((m) => m.event !== "notified"),
          { y: "alert", x: "s", symbol: "event", stroke: "event", fill: "event", r: 4.5 },
        ),
        Plot.dot(
          moments.filter((m) => m.event === "notified"),
          { y: "alert", x: "s", symbol: "event", stroke: "event", fill: "none", r: 7, strokeWidth: 2 },
        ),
      ],
    },
    "Each alert from its fault's start: the fault's window (shaded), its bound (black tick), and when it was seen " +
      "pending, firing, notified and resolved (resolved is the fault's length plus the time to resolve after " +
      "clearing).",
  );
}

/** What the k2-pipeline dashboard would have shown: each panel's series over the run, faults shaded. */
export function dashboardPreview(doc: Report, record: LiveFireRecord) {
  const shown = record.preview.filter((p) => p.series.some((x) => x.points.length));
  const failed = record.preview.filter((p) => p.error);
  if (!shown.length && !failed.length) return;
  doc.md`## What the dashboard showed`;
  doc.md`Each k2-pipeline panel's query as Prometheus answered it over the run (a static preview: Grafana cannot run
    here). The shaded bands are the faults, in order: ${record.faults.map((f) => f.alert).join(", ")}.`;
  for (const p of failed) doc.note("WARN", `${p.panel}: ${p.error} (${p.expr})`);
  for (const p of shown) {
    const rows = p.series.flatMap((x) => x.points.map(([t, v]) => ({ t: new Date(t), v, series: x.label })));
    doc.figure(
      {
        height: 160,
        x: { type: "utc", label: null },
        y: { label: null, grid: true },
        color: { legend: p.series.length <= 12 },
        marks: [
          Plot.rectX(record.faults, {
            x1: (f) => new Date(f.fromMs),
            x2: (f) => new Date(f.toMs),
            fill: "#f4a",
            fillOpacity: 0.12,
          }),
          Plot.lineY(rows, { x: "t", y: "v", stroke: "series", z: "series" }),
        ],
      },
      `${p.panel}: ${p.expr}`,
    );
  }
}
