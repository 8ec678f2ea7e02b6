// What a live fire stores (data/04-live-fire/<run>/livefire.json) and what the sign-off reads through the step's
// summary: each alert against its bound, the baseline, the fault intervals and the dashboard's panels over the run.
import type { Status } from "../../verdict/status.ts";

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
export type PanelSeries = {
  panel: string;
  expr: string;
  series: { label: string; points: [number, number][] }[];
  /** why Prometheus gave no series ("range query failed: ..."), said in the report */
  error?: string;
};

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
