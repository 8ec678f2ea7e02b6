// The latency report's parts, built from stored runs only: the results table in the step
// file's form, the segment budget, the figures, and run-to-run comparison. Heavy work runs
// in the engine over the stored per-trade Parquet; the figures get a bounded number of points.

import { effectiveResolutionMs, formatResolution, lagClock } from "../k2/discovery.ts";
import type { KafkaSettings } from "../k2/kafka.ts";
import { SEGMENT_BUDGET_MS } from "../k2/thresholds.ts";
import { type BinRow, logBinsSql } from "../report/bins.ts";
import { fmt, type Report } from "../report/document.ts";
import { Plot } from "../report/plot.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import type { RunData } from "../runtime/store.ts";
import { kafkaSettingsOf, lagsOf, SEGMENTS, type SegmentsByScenario } from "./facts.ts";
import { bucketSeconds, ecdfSql, type SeriesRow, seriesSql } from "./sql.ts";
import type { LatencyFetched, ScenarioRecord, ScenarioSummary } from "./summary.ts";
import { clockOffsetNote, type FloorRow, p99Verdict, SCENARIOS } from "./verdict.ts";

/** Exactly the step file's table: Scenario | p50 | p99 | Max | Notes. */
export function resultsTable(doc: Report, rows: ScenarioSummary[]) {
  const ms = (v: number | null) => (v === null ? "–" : `${fmt(v)} ms`);
  doc.table(
    rows.map((r) => ({
      Scenario: `${r.scenario} (~${SCENARIOS.find((s) => s.name === r.scenario)!.rate} msg/s)`,
      p50: ms(r.p50),
      p99: ms(r.p99),
      Max: ms(r.max),
      Notes: `${r.status}: ${r.achieved}; ${r.notes.join("; ")}`,
    })),
    [
      { key: "Scenario", label: "Scenario" },
      { key: "p50", label: "p50", align: "right" },
      { key: "p99", label: "p99", align: "right" },
      { key: "Max", label: "Max", align: "right" },
      { key: "Notes", label: "Notes" },
    ],
    { caption: "End-to-end lag (silver) per scenario, all exchanges", summary: true },
  );
  for (const r of rows) doc.note(r.status, `${r.scenario}: ${r.notes.join("; ")}.`);
}

/**
 * The seven-segment budget of FACTS.md as the report shows it (the three MV segments, 1 + 3 + 1 ms, run inside
 * one insert and are measured together), with what would measure each segment that nothing measured.
 */
/** The seven-segment budget (FACTS.md): filled where measured, else what instrumentation it needs. */
export function segmentTable(doc: Report, records: ScenarioRecord[], per: SegmentsByScenario) {
  const names = records.map((r) => r.scenario);
  const cell = (seg?: { p50Ms?: number; p99Ms?: number }) =>
    seg?.p99Ms === undefined ? "–" : `${fmt(seg.p50Ms)} / ${fmt(seg.p99Ms)} ms`;
  const rows: Record<string, string>[] = SEGMENTS.flatMap(({ key, label, budgetMs, needs }) => {
    const measured = names.map((n) => per.get(n)?.get(key));
    if (key === "network" && !measured.some(Boolean)) return [];
    const src = measured.find(Boolean)?.source.replace(/, \d+x$/, "");
    return [
      {
        segment: label,
        budget: budgetMs === null ? "–" : `< ${budgetMs} ms`,
        ...Object.fromEntries(names.map((n, i) => [n, cell(measured[i])])),
        how: src ?? `NOT MEASURED: needs ${needs}`,
      },
    ];
  });
  doc.md`## Segment budget`;
  doc.md`FACTS.md budgets seven segments to ${SEGMENT_BUDGET_MS.total} ms end to end. A segment is filled only where
    something measured it; the others say what instrumentation would. Cells are p50 / p99.`;
  doc.table(
    rows,
    [
      { key: "segment", label: "Segment" },
      { key: "budget", label: "Budget", align: "right" },
      ...names.map((n) => ({ key: n, label: n, align: "right" as const })),
      { key: "how", label: "Measured by" },
    ],
    { caption: "Latency budget by segment", summary: true },
  );
  mvNotes(doc, records);
}

/** Where MV time came from: system.query_log on a server, or why it is unavailable (once). */
function mvNotes(doc: Report, records: ScenarioRecord[]) {
  const unavailable = records.find((r) => "unavailable" in r.mv);
  if (unavailable && "unavailable" in unavailable.mv)
    doc.note("INFO", `MV processing time (${unavailable.scenario}): ${unavailable.mv.unavailable}.`);
  for (const r of records)
    if ("p99Ms" in r.mv)
      doc.note(
        "INFO",
        `MV processing time (${r.scenario}) from system.query_log: ${r.mv.inserts} INSERTs into bronze, avg ` +
          `${fmt(r.mv.avgMs)} ms, p99 ${fmt(r.mv.p99Ms)} ms, max ${fmt(r.mv.maxMs)} ms.`,
      );
}

const union = (run: RunData, records: ScenarioRecord[], sql: (src: string) => string) =>
  records
    .filter((r) => lagsOf(run, r))
    .map((r) => `SELECT '${r.scenario}' AS scenario, * FROM (${sql(lagsOf(run, r)!)})`)
    .join(" UNION ALL ");

/** The step's figures from the stored per-trade lags: ECDF with targets, p50/p99 over time, a log histogram. */
export async function latencyFigures(
  doc: Report,
  run: RunData,
  records: ScenarioRecord[],
  summaries: ScenarioSummary[],
) {
  const measured = records.filter((r) => lagsOf(run, r));
  if (!measured.length) return;
  const targets = measured.map((r) => ({
    scenario: r.scenario,
    target: SCENARIOS.find((s) => s.name === r.scenario)!.p99TargetMs,
  }));
  const f: Facets = { run, measured, targets, fy: { label: "scenario", domain: measured.map((r) => r.scenario) } };
  doc.md`## Figures`;
  await ecdfFigure(doc, f);
  await seriesFigure(doc, f);
  await histogramFigure(doc, f, summaries);
}

/** What every figure shares: the measured scenarios, one facet row each in run order (not alphabetical). */
type Facets = {
  run: RunData;
  measured: ScenarioRecord[];
  targets: { scenario: string; target: number }[];
  fy: { label: string; domain: string[] };
};

async function ecdfFigure(doc: Report, { run, measured, targets, fy }: Facets) {
  const ecdf = await run.query<{ scenario: string; exchange: string; q: number; lag_ms: number }>(
    union(run, measured, (s) => ecdfSql(s)),
  );
  const marks = ecdf.filter((d) => d.q === 0.5 || d.q === 0.99);
  const positive = ecdf.every((d) => d.lag_ms > 0);
  doc.figure(
    {
      height: 150 * measured.length + 40,
      marginLeft: 50,
      marginRight: 60,
      color: { legend: true },
      x: { type: positive ? "log" : "linear", label: "lag (ms)", grid: true },
      y: { label: "share of trades ≤ lag", domain: [0, 1] },
      fy,
      marks: [
        Plot.ruleX(targets, { x: "target", fy: "scenario", stroke: "#cf222e", strokeDasharray: "4,3" }),
        Plot.text(targets, {
          x: "target",
          fy: "scenario",
          y: 0.1,
          text: (d: { target: number }) => `target ${d.target} ms`,
          textAnchor: "start",
          dx: 4,
          fill: "#cf222e",
        }),
        Plot.line(ecdf, { x: "lag_ms", y: "q", stroke: "exchange", fy: "scenario", curve: "step-after" }),
        Plot.dot(marks, {
          x: "lag_ms",
          y: "q",
          stroke: "exchange",
          fy: "scenario",
          symbol: (d: { q: number }) => (d.q === 0.5 ? "circle" : "triangle"),
          r: 3.5,
        }),
      ],
    },
    "ECDF of lag per exchange and scenario (200 quantiles each). Circles: p50; triangles: p99; dashed: the " +
      "scenario's p99 target.",
  );
}

/** p50 and p99 per bucket of exchange time, x in seconds into each scenario. */
async function seriesFigure(doc: Report, { run, measured, fy }: Facets) {
  const widths = new Map(measured.map((r) => [r.scenario, bucketSeconds(r.window)]));
  const series = (
    await Promise.all(
      measured.map((r) =>
        run.query<SeriesRow & { scenario: string }>(
          `SELECT '${r.scenario}' AS scenario, * FROM (${seriesSql(lagsOf(run, r)!, "1", widths.get(r.scenario))})`,
        ),
      ),
    )
  ).flat();
  // x: seconds into each scenario, so that scenarios run one after another share an axis
  const start = new Map(measured.map((r) => [r.scenario, r.window.fromMs]));
  const long = series.flatMap((d) => {
    const t = (Date.parse(`${String(d.bucket).replace(" ", "T")}Z`) - start.get(d.scenario)!) / 1000;
    return [
      { ...d, t, quantile: "p50", ms: d.p50_ms },
      { ...d, t, quantile: "p99", ms: d.p99_ms },
    ];
  });
  doc.figure(
    {
      height: 140 * measured.length + 40,
      marginLeft: 50,
      color: { legend: true },
      fy,
      x: { label: "seconds into the scenario (10 s buckets of exchange time)" },
      y: { label: "lag (ms)", grid: true },
      marks: [
        Plot.lineY(
          long.filter((d) => d.quantile === "p50"),
          { x: "t", y: "ms", stroke: "exchange", fy: "scenario", marker: "dot" },
        ),
        Plot.lineY(
          long.filter((d) => d.quantile === "p99"),
          { x: "t", y: "ms", stroke: "exchange", fy: "scenario", strokeDasharray: "4,2" },
        ),
        Plot.ruleY([0]),
      ],
    },
    `p50 (solid) and p99 (dashed) per exchange in ${[...new Set(widths.values())].map((w) => `${w} s`).join(" / ")} ` +
      `buckets of exchange time; a rising line is a consumer falling behind.`,
  );
}

async function histogramFigure(doc: Report, { run, measured, targets, fy }: Facets, summaries: ScenarioSummary[]) {
  const hist = await run.query<BinRow & { scenario: string }>(
    union(run, measured, (s) => logBinsSql("lag_ms", s, "lag")),
  );
  doc.figure(
    {
      height: 120 * measured.length + 40,
      marginLeft: 50,
      fy,
      x: { type: "log", label: "lag (ms, log scale)", grid: true },
      y: { label: "trades" },
      marks: [
        Plot.rectY(hist, { x1: "x1", x2: "x2", y: "n", fy: "scenario", fill: "#4e79a7", inset: 0.5 }),
        Plot.ruleX(targets, { x: "target", fy: "scenario", stroke: "#cf222e", strokeDasharray: "4,3" }),
        Plot.ruleY([0]),
      ],
    },
    `Lag histogram, ten log-spaced bins per decade (all exchanges). Lags of zero or less are not drawn ` +
      `(${summaries.map((s) => s.scenario).join(", ")}).`,
  );
}

/** Per exchange and scenario in both runs: the change of p50, p99 and max, exact from the stored samples. */
type Quantiles = { exchange: string; p50: number; p99: number; max: number; n: number };
type Delta = { before: number; after: number; delta: number };
type CompareRow = { scenario: string; exchange: string; trades: string; p50: Delta; p99: Delta; max: Delta };

/** Per exchange, exact quantiles of one scenario's stored lags. */
const quantilesOf = async (run: RunData, record: ScenarioRecord): Promise<Quantiles[]> =>
  lagsOf(run, record)
    ? run.query<Quantiles>(
        `SELECT exchange, count() AS n, quantileExact(0.5)(lag_ms) AS p50, quantileExact(0.99)(lag_ms) AS p99, ` +
          `max(lag_ms) AS max FROM ${lagsOf(run, record)} GROUP BY exchange ORDER BY exchange`,
      )
    : [];

/** Before and after for every scenario and exchange the two runs share. */
async function compareRows(runA: RunData<LatencyFetched>, runB: RunData<LatencyFetched>): Promise<CompareRow[]> {
  const [ra, rb] = await Promise.all([
    runA.json<ScenarioRecord[]>("scenarios"),
    runB.json<ScenarioRecord[]>("scenarios"),
  ]);
  if (!ra.some((x) => rb.some((y) => y.scenario === x.scenario)))
    throw new K2Error(
      `runs ${runA.manifest.runId} (${ra.map((r) => r.scenario).join(", ")}) and ${runB.manifest.runId} ` +
        `(${rb.map((r) => r.scenario).join(", ")}) share no scenario: compare runs of the same scenarios`,
      EXIT.notFound,
    );
  const rows: CompareRow[] = [];
  for (const x of ra) {
    const y = rb.find((r) => r.scenario === x.scenario);
    if (!y) continue;
    const [sa, sb] = await Promise.all([quantilesOf(runA, x), quantilesOf(runB, y)]);
    for (const e of sa) {
      const f = sb.find((s) => s.exchange === e.exchange);
      if (!f) continue;
      const d = (k: "p50" | "p99" | "max"): Delta => ({ before: e[k], after: f[k], delta: f[k] - e[k] });
      rows.push({
        scenario: x.scenario,
        exchange: e.exchange,
        trades: `${e.n} → ${f.n}`,
        p50: d("p50"),
        p99: d("p99"),
        max: d("max"),
      });
    }
  }
  return rows;
}

/** `--compare`: the deltas for a "tuning applied" PR, exact from the stored per-trade lags. */
export async function compareRuns(doc: Report, runA: RunData<LatencyFetched>, runB: RunData<LatencyFetched>) {
  const compared = await compareRows(runA, runB);
  // flat columns for the table: p50_before, p50_after, p50_delta, ...
  const rows: Record<string, string | number>[] = compared.map((r) => ({
    scenario: r.scenario,
    exchange: r.exchange,
    trades: r.trades,
    ...Object.fromEntries(
      (["p50", "p99", "max"] as const).flatMap((k) => [
        [`${k}_before`, r[k].before],
        [`${k}_after`, r[k].after],
        [`${k}_delta`, r[k].delta],
      ]),
    ),
  }));
  doc.md`Quantiles recomputed exactly (\`quantileExact\`) from each run's stored per-trade lags; a negative delta is
    an improvement.`;
  const ms = (v: number) => `${fmt(v)} ms`,
    delta = (v: number) => `${v > 0 ? "+" : ""}${fmt(v)} ms`;
  doc.table(
    rows,
    [
      { key: "scenario", label: "Scenario" },
      { key: "exchange", label: "Exchange" },
      { key: "trades", label: "Trades" },
      { key: "p50_before", label: "p50 before", format: ms, align: "right" },
      { key: "p50_after", label: "p50 after", format: ms, align: "right" },
      { key: "p50_delta", label: "Δ p50", format: delta, align: "right" },
      { key: "p99_before", label: "p99 before", format: ms, align: "right" },
      { key: "p99_after", label: "p99 after", format: ms, align: "right" },
      { key: "p99_delta", label: "Δ p99", format: delta, align: "right" },
      { key: "max_before", label: "max before", format: ms, align: "right" },
      { key: "max_after", label: "max after", format: ms, align: "right" },
      { key: "max_delta", label: "Δ max", format: delta, align: "right" },
    ],
    { caption: "Before → after, per scenario and exchange", summary: true },
  );
  doc.fact("Tuning applied", runB.manifest.tuning ?? "none recorded for the after run");
  return {
    summary: [
      `compare ${runA.manifest.runId} → ${runB.manifest.runId}: ${rows.length} scenario×exchange rows`,
      ...compared
        .slice(0, 9)
        .map(
          (r) =>
            `  ${r.scenario} ${r.exchange}: p50 ${delta(r.p50.delta)}, p99 ${delta(r.p99.delta)}, max ` +
            `${delta(r.max.delta)}`,
        ),
    ],
  };
}

/** One row of a scenario's stats dataset (statsSql): per table and exchange, lags in ms. */
type StatsRow = {
  table: string;
  exchange: string;
  trades: number;
  avg_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  floor_ms: number;
  negative_share: number;
};

/** Per table (silver and each bronze) and exchange: the full statistics and what each clock can decide. */
export async function perTableSection(doc: Report, run: RunData<LatencyFetched>, records: ScenarioRecord[]) {
  doc.md`## Per table and exchange`;
  doc.md`Every trade table, with the clock its lag is measured by. A second-granular clock truncates ingestion time,
    so its lags run up to a second short: sub-second targets are UNRESOLVED from it.`;
  for (const r of records.filter((x) => run.manifest.datasets[`stats_${x.scenario}`])) {
    const rows = await run.rows<StatsRow>(`stats_${r.scenario}`);
    const clock = new Map(r.mappings.map((m) => [m.table, m]));
    const target = SCENARIOS.find((s) => s.name === r.scenario)!.p99TargetMs;
    doc.table(
      rows.map((x) => {
        const m = clock.get(x.table)!;
        const c = lagClock(m);
        const v = p99Verdict(x.p99_ms, target, effectiveResolutionMs(c));
        return {
          ...x,
          clock: `${c.column} ` + `(${formatResolution(effectiveResolutionMs(c))})`,
          verdict: v.status,
          offset: clockOffsetNote(x.floor_ms, x.negative_share),
        };
      }),
      [
        { key: "table", label: "Table" },
        { key: "exchange", label: "Exchange" },
        { key: "clock", label: "Lag clock" },
        { key: "trades", label: "Trades", align: "right" },
        { key: "avg_ms", label: "avg", align: "right" },
        { key: "p50_ms", label: "p50", align: "right" },
        { key: "p90_ms", label: "p90", align: "right" },
        { key: "p99_ms", label: "p99", align: "right" },
        { key: "p999_ms", label: "p99.9", align: "right" },
        { key: "max_ms", label: "max", align: "right" },
        { key: "verdict", label: `p99 vs ${target} ms` },
        { key: "negative_share", label: "negative", format: (v) => `${(v * 100).toFixed(2)}%`, align: "right" },
        { key: "offset", label: "Clock offset (two clocks)" },
      ],
      {
        caption:
          `Scenario ${r.scenario}: lag in ms by table and exchange (per-symbol figures are in ` +
          `stats_symbol_${r.scenario}.parquet)`,
      },
    );
  }
}

/**
 * Before any measurement: the wait the Kafka engine's flush rule imposes at each scenario's rate, from the settings
 * discovery read in the schema, and which targets it makes unattainable. Runs stored before the settings were read
 * show nothing here.
 */
export function floorSection(doc: Report, records: ScenarioRecord[], floors: FloorRow[], busiestShare: number) {
  const settings = kafkaSettingsOf(records);
  if (!floors.length) return;
  doc.md`## The floor the Kafka engine sets`;
  const rules = [...new Set(settings.map(kafkaRule))];
  doc.md`The Kafka engine tables hand rows on when a block is full or when the flush interval ends. Discovery read
    ${settings.length} of them: ${rules.join("; ")}. Below a full block per interval every trade waits for the interval,
    uniformly, so the wait alone has the mean and p99 below at each scenario's rate (busiest table,
    ${Math.round(busiestShare * 100)}% of the run's trades), before any other segment adds its share.`;
  doc.table(
    floors.map((f) => ({
      scenario: f.scenario,
      mean: `${Math.round(f.meanWaitMs)} ms`,
      p99: `${Math.round(f.p99WaitMs)} ms`,
      target: `< ${f.targetMs} ms`,
      verdict: f.attainable ? "attainable" : "UNATTAINABLE as configured",
    })),
    [
      { key: "scenario", label: "Scenario" },
      { key: "mean", label: "Expected wait", align: "right" },
      { key: "p99", label: "p99 wait", align: "right" },
      { key: "target", label: "p99 target", align: "right" },
      { key: "verdict", label: "Target" },
    ],
    { caption: "Latency floor from the Kafka engine's flush rule", summary: true },
  );
  const out = floors.filter((f) => !f.attainable).map((f) => f.scenario);
  if (out.length)
    doc.note(
      "FAIL",
      `The flush rule alone makes the p99 target of ${out.join(", ")} unattainable: lower kafka_flush_interval_ms ` +
        `(e.g. 100 ms) on the Kafka engine tables, then re-run with --tuning and compare with --compare.`,
    );
}

const kafkaRule = (kafka: KafkaSettings) =>
  `kafka_flush_interval_ms = ${kafka.flushIntervalMs}` +
  `${kafka.source === "default" ? " (not set: the server default)" : ""}, ` +
  `kafka_max_block_size = ${kafka.maxBlockSize ?? "not set"}`;

/** Where a load's replayed copies went, and the query that finds them: they are neither lags nor duplicates. */
export function copiesNote(doc: Report, records: ScenarioRecord[]) {
  for (const r of records)
    if (r.landed?.copies)
      doc.note(
        "INFO",
        `${r.scenario}: the load added ${r.landed.copies} replayed copies of earlier trades to silver (same exchange ` +
          `time and sequence number as their originals, so they are left out of the lags and of the loss check), ` +
          `and gold's MVs counted each again in the trade_count of its original window in every OHLCV timeframe. ` +
          `Find them: ${r.landed.find}`,
      );
}
