// The health report's parts: every check failures first, the flow figure against the staleness
// limit, and the one-line-per-group summary the precondition and the CI log show.
import type { Report } from "../report/document.ts";
import { Plot } from "../report/plot.ts";
import type { RunData } from "../runtime/store.ts";
import { type HealthFetched, overallOf } from "./summary.ts";
import type { Check } from "./verdict.ts";

const count = (checks: Check[], s: string) => checks.filter((c) => c.status === s).length;

/** "16 pass, 0 warn, 1 fail, 2 skipped" */
export const countsText = (checks: Check[]) =>
  ["PASS", "WARN", "FAIL", "SKIPPED"]
    .map((s) => `${count(checks, s)} ${s === "SKIPPED" ? "skipped" : s.toLowerCase()}`)
    .join(", ");

/** Every check, failures and warnings first. */
export function checksTable(doc: Report, checks: Check[]) {
  const failing = checks.filter((c) => c.status === "FAIL" || c.status === "WARN");
  doc.table(
    failing.length ? [...failing, ...checks.filter((c) => !failing.includes(c))] : checks,
    [
      { key: "check", label: "Check" },
      { key: "subject", label: "Subject" },
      { key: "status", label: "Status" },
      { key: "evidence", label: "Evidence" },
    ],
    { caption: "Every check, failures first", summary: true },
  );
}

/** Trades per exchange per 10 s over the window, against the staleness limit. */
export async function flowFigure(doc: Report, run: RunData<HealthFetched>) {
  const p = run.manifest.parameters;
  const series = await run.rows<{ exchange: string; seconds_ago: number; trades: number }>("flow_series");
  doc.figure(
    {
      height: 180,
      marginLeft: 50,
      x: { label: "seconds before the check", reverse: true, grid: true },
      y: { label: "trades / 10 s", grid: true },
      color: { legend: true },
      marks: [
        Plot.ruleX([p.staleMs / 1000], { stroke: "#cf222e", strokeDasharray: "4,3" }),
        Plot.lineY(series, { x: "seconds_ago", y: "trades", stroke: "exchange", marker: "dot" }),
        Plot.ruleY([0]),
      ],
    },
    `Trades per exchange per 10 s over the window; the dashed line is the staleness limit ` +
      `(${p.stale}): an exchange with nothing to its right fails.`,
  );
}

/** One line per check group: its verdict and what failed, or how many were checked. */
export function groupLines(checks: Check[]): string[] {
  return ["services", "trades flowing", "offload watermarks", "prefect schedule"].map((name) => {
    const group = checks.filter((c) => c.check === name && c.status !== "INFO");
    const bad = group.filter((c) => c.status === "FAIL" || c.status === "WARN");
    const g = overallOf(group);
    const detail = bad.length
      ? bad
          .slice(0, 4)
          .map((c) => `${c.subject}: ${c.evidence}`)
          .join("; ")
      : g === "SKIPPED"
        ? (group[0]?.evidence ?? "")
        : `${group.length} checked`;
    return `  ${name.padEnd(19)} ${g.padEnd(8)} ${detail}`.slice(0, 200);
  });
}
