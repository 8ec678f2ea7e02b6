// The burn-in report's parts, from a run's analysis (summary.ts): the step file's table, stack
// totals against both RAM budgets, memory trends, Spark's offload spikes, and the figures.

import { SERVICES, STACK_BUDGET, UNCONTAINED_BUDGET } from "../k2/stack.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { fmt, type Report } from "../report/document.ts";
import { Plot } from "../report/plot.ts";
import { DEFAULT_RULES, type Periodicity, type ServiceResult, type StackTotals, type Tidy } from "./verdict.ts";

const mb = (v: number) => (v >= 1024 ? `${(v / 1024).toFixed(2)} GB` : `${v.toFixed(0)} MB`);

/** The step file's table: per service, CPU p99 and RAM max against the Phase 7 budget. */
export function resultsSection(doc: Report, results: ServiceResult[]) {
  doc.md`## Results`;
  const cores = (v: number | null) => (v === null ? "–" : `${v.toFixed(3)} cores`);
  doc.table(
    results.map((r) => ({
      Service: r.service,
      "CPU Budget": r.budgetCpu === null ? "–" : `${r.budgetCpu} cores`,
      "CPU Actual (p99)": cores(r.cpuP99),
      "RAM Budget": r.budgetMemMb === null ? "–" : mb(r.budgetMemMb),
      "RAM Actual (max)": r.memMaxMb === null ? "–" : mb(r.memMaxMb),
      Status: r.status,
      notes: r.notes.join("; "),
    })),
    ["Service", "CPU Budget", "CPU Actual (p99)", "RAM Budget", "RAM Actual (max)", "Status"].map((k) => ({
      key: k as "Service",
      label: k,
      align: /Actual|Budget/.test(k) ? ("right" as const) : undefined,
    })),
    { caption: "Per service against the Phase 7 budget (the step file's table)", summary: true },
  );
  for (const r of results.filter((x) => x.status !== "PASS" || x.notes.length))
    doc.note(r.status === "PASS" ? "INFO" : r.status, `${r.container}: ${r.notes.join("; ")}`);
}

/** Stack totals against 15.5 cores and both RAM figures the platform quotes. */
export function totalsSection(doc: Report, totals: StackTotals) {
  doc.md`## Stack totals`;
  doc.md`The budget table's RAM column adds up to ${STACK_BUDGET.memGbTable} GB (including iceberg-rest,
    ${UNCONTAINED_BUDGET.memMb} MB, which has no k2-* container), while the phase plan quotes
      ${STACK_BUDGET.memGbPlan} GB. Both are shown; the verdict checks the stricter ${STACK_BUDGET.memGbPlan} GB.`;
  doc.table(
    [
      {
        what: "CPU (p99 of per-round sums)",
        actual: `${totals.cpuP99.toFixed(2)} cores`,
        budget: `${totals.budgetCpu} cores`,
        status: totals.cpuStatus,
      },
      {
        what: "RAM (max of per-round sums), phase plan",
        actual: `${totals.memMaxGb.toFixed(2)} GB`,
        budget: `${totals.budgetGbPlan} GB`,
        status: totals.memStatusPlan,
      },
      {
        what: "RAM (max of per-round sums), budget table",
        actual: `${totals.memMaxGb.toFixed(2)} GB`,
        budget: `${totals.budgetGbTable} GB`,
        status: totals.memStatusTable,
      },
    ],
    [
      { key: "what", label: "Stack" },
      { key: "actual", label: "Actual", align: "right" },
      { key: "budget", label: "Budget", align: "right" },
      { key: "status", label: "Status" },
    ],
    { caption: "Stack totals", summary: true },
  );
}

/** A robust memory slope per service, and Spark's offload spikes against the schedule. */
export function trendsSection(doc: Report, results: ServiceResult[], period: Periodicity & { basis?: string }) {
  doc.md`## Memory trends`;
  doc.md`A robust slope per service (Theil–Sen: the median of pairwise slopes) with a 95% interval; LEAK only when the
    whole interval is above ${DEFAULT_RULES.leakMinMbPerHour} MB/h, so noise and sawtooth garbage collection do not
      trigger it.`;
  doc.table(
    results
      .filter((r) => r.trend)
      .map((r) => ({
        container: r.container,
        slope: r.trend!.slope,
        low: r.trend!.low,
        high: r.trend!.high,
        n: r.trend!.n,
        verdict: r.leak === "LEAK" ? "FAIL" : "PASS",
        leak: r.leak,
      })),
    [
      { key: "container", label: "Container" },
      { key: "slope", label: "MB/hour", format: (v) => fmt(v), align: "right" },
      { key: "low", label: "95% low", format: (v) => fmt(v), align: "right" },
      { key: "high", label: "95% high", format: (v) => fmt(v), align: "right" },
      { key: "n", label: "Samples", align: "right" },
      { key: "leak", label: "Trend" },
      { key: "verdict", label: "Status" },
    ],
    { caption: "Memory trend per service" },
  );

  const basis = period.basis ?? "CPU averaged over each interval";
  doc.note(period.status, `Spark offload spikes (k2-spark-iceberg, ${basis}): ${period.note}.`);
}

/** Memory and CPU per service as a share of budget, and stacked memory against the plan budget. */
export function figuresSection(doc: Report, rows: Tidy[], containers: string[]) {
  doc.md`## Figures`;
  // Small multiples share one y scale, so each series is drawn as a share of its own budget
  // (of its compose limit where it has none): the dashed line at 100% is always the budget.
  const byC = (c: string) => SERVICES.find((s) => s.container === c);
  const ref = (c: string) => byC(c)?.budget ?? byC(c)?.limit;
  const memRows = rows
    .filter((r) => r.memBytes !== null)
    .map((r) => ({ container: r.container, t: new Date(r.ts), mb: r.memBytes! / 2 ** 20 }));
  const memPct = memRows
    .filter((r) => ref(r.container))
    .map((r) => ({ ...r, pct: (100 * r.mb) / ref(r.container)!.memMb }));
  // One small multiple per container, sharing the time axis.
  const facets = (yLabel: string, marks: Plot.Markish[]) => ({
    height: 46 * containers.length + 40,
    marginLeft: 50,
    marginRight: 170,
    fy: { label: null, domain: containers },
    x: { type: "utc" as const, label: null },
    y: { label: yLabel, ticks: 2, grid: true },
    marks,
  });
  doc.figure(
    facets("% of RAM budget", [
      Plot.ruleY([100], { stroke: "#cf222e", strokeDasharray: "4,3" }),
      Plot.lineY(memPct, { x: "t", y: "pct", fy: "container", stroke: "#4e79a7" }),
      Plot.ruleY([0]),
    ]),
    "Memory per service over time as a share of its RAM budget (compose limit where it has none); dashed: the budget.",
  );
  const cpuPct = rows
    .filter((r) => r.cpuCores !== null && ref(r.container))
    .map((r) => ({ container: r.container, t: new Date(r.ts), pct: (100 * r.cpuCores!) / ref(r.container)!.cpu }));
  doc.figure(
    facets("% of CPU budget", [
      Plot.ruleY([100], { stroke: "#9a6700", strokeDasharray: "4,3" }),
      Plot.ruleY([100 * THRESHOLDS.cpuSpikeFactor], { stroke: "#cf222e", strokeDasharray: "2,3" }),
      Plot.lineY(cpuPct, { x: "t", y: "pct", fy: "container", stroke: "#4e79a7" }),
      Plot.ruleY([0]),
    ]),
    "CPU per service as a share of its CPU budget; dashed: the budget; dotted: twice the budget (the spike limit).",
  );
  doc.figure(
    {
      height: 260,
      marginLeft: 60,
      color: { legend: true },
      x: { type: "utc", label: null },
      y: { label: "MB (stacked)", grid: true },
      marks: [
        Plot.areaY(memRows, { x: "t", y: "mb", fill: "container", order: containers }),
        Plot.ruleY([STACK_BUDGET.memGbPlan * 1024], { stroke: "#cf222e", strokeDasharray: "4,3" }),
      ],
    },
    `Stack memory, stacked by service; dashed: the ${STACK_BUDGET.memGbPlan} GB plan budget (off the scale where far ` +
      `above use).`,
  );
}
