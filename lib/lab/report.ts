// The lab report's parts: what was replayed, every trade against ground truth in bronze and silver,
// the OHLCV tables against silver, what discovery found, and lag by each clock.

import { clockLabel, formatResolution, lagClock, type Mapping } from "../k2/discovery.ts";
import { type BinRow, logBinsSql } from "../report/bins.ts";
import { fmt, type Report } from "../report/document.ts";
import { html } from "../report/html.ts";
import { Plot } from "../report/plot.ts";
import type { Fetched, RunData } from "../runtime/store.ts";
import { BASE_RATE, formatCount } from "../runtime/units.ts";
import { type CountRow, type OhlcvRow, ohlcvConsistency, reconcile } from "./reconcile.ts";
import type { ReplaySummary } from "./replayer.ts";
import { type Fault, faultsHtml } from "./traffic.ts";

/** What the lab notebook stores besides its datasets. */
export type LabFetched = Fetched & {
  parameters: { duration: string; rate: number; delay: string; flush: string; seed: number; faults: Fault[] };
};
/** Per exchange: lag quantiles by the finest clock, the injected delay, and the second-granular clock's. */
export type LagRow = {
  exchange: string;
  trades: number;
  p50: number;
  p99: number;
  max: number;
  delay_p50: number;
  delay_p99: number;
  coarse_p50: number;
  coarse_negative: number;
};

type LabRun = RunData<LabFetched>;

/** What was replayed, how fast it landed, and which faults were injected. */
export function introSection(doc: Report, p: LabFetched["parameters"], replay: ReplaySummary) {
  doc.md`
    The lab replayed **${p.duration}** of trades at **${p.rate} msg/s** (${(p.rate / BASE_RATE).toFixed(1)}x the K2
      baseline),
    seed ${p.seed}, with an exchange-to-handler delay drawn from ${html`<code>${p.delay}</code>`} and the consumer
      flushing every ${p.flush}.
    Achieved rate: **${replay.achievedRate.toFixed(1)} msg/s** delivered, ${formatCount(replay.batches)} inserts
    (round trip mean ${replay.insertRttMs.mean.toFixed(1)} ms, max ${replay.insertRttMs.max.toFixed(1)} ms, measured
      by the replayer).
    ${p.faults?.length ? html`Faults injected: ${faultsHtml(p.faults)}.` : "No faults injected."}`;
}

/** Ground truth against bronze and silver: every trade sent lands exactly once. */
export async function landedSection(doc: Report, run: LabRun) {
  doc.md`## Did every trade land?`;
  const counts = reconcile(await run.rows<CountRow>("counts"));
  doc.table(
    counts,
    [
      { key: "exchange", label: "Exchange" },
      { key: "symbols", label: "Symbols", align: "right" },
      { key: "generated", label: "Generated", align: "right" },
      { key: "sent", label: "Sent", align: "right" },
      { key: "dropped", label: "Dropped (fault)", align: "right" },
      { key: "silenced", label: "Silenced (fault)", align: "right" },
      { key: "bronze", label: "Bronze", align: "right" },
      { key: "silver", label: "Silver", align: "right" },
      { key: "lost", label: "Lost", align: "right" },
      { key: "status", label: "Status" },
    ],
    { caption: "Trades per exchange: replayer ground truth against bronze and silver row counts", summary: true },
  );
  const lost = counts.reduce((a, c) => a + c.lost + c.extra, 0);
  doc.note(
    lost ? "FAIL" : "PASS",
    lost
      ? `${lost} trades sent were not found exactly once in bronze and silver.`
      : "Every trade the replayer sent is in bronze and in silver, per exchange; nothing extra.",
  );
  doc.figure(
    {
      marginLeft: 80,
      height: 140,
      x: { label: "trades", grid: true },
      y: { label: null },
      marks: [
        Plot.barX(counts, {
          y: "exchange",
          x: "silver",
          fill: "#4e79a7",
          title: (d: (typeof counts)[number]) => `${d.exchange}: ${d.silver} in silver`,
        }),
        Plot.tickX(counts, { y: "exchange", x: "sent", stroke: "#e15759", strokeWidth: 3 }),
        Plot.ruleX([0]),
      ],
    },
    "Bars: trades in silver. Red ticks: trades the replayer sent (ground truth).",
  );
  return { counts, lost };
}

/** The gold OHLCV tables count exactly the silver trades, per timeframe and exchange. */
export async function ohlcvSection(doc: Report, run: LabRun) {
  doc.md`## Do the OHLCV tables agree with silver?`;
  const ohlcv = ohlcvConsistency(await run.rows<OhlcvRow>("ohlcv"));
  // One row per timeframe, one column per exchange: "OHLCV trade_count / silver trades".
  const exchanges = [...new Set(ohlcv.map((r) => r.exchange))];
  const byTf = [...new Set(ohlcv.map((r) => r.timeframe))].map((tf) => {
    const rows = ohlcv.filter((r) => r.timeframe === tf);
    return {
      timeframe: tf,
      ...Object.fromEntries(
        rows.map((r) => [r.exchange, `${fmt(r.ohlcv_trades)} / ${fmt(r.silver_trades)} (${r.candles} candles)`]),
      ),
      status: rows.every((r) => r.status === "PASS") ? "PASS" : "FAIL",
    };
  });
  doc.table(
    byTf,
    [
      { key: "timeframe", label: "Timeframe" },
      ...exchanges.map((e) => ({ key: e as "timeframe", label: e, align: "right" as const })),
      { key: "status", label: "Status" },
    ],
    { caption: "sum(trade_count) per gold timeframe / silver trades, per exchange", summary: true },
  );
  const badOhlcv = ohlcv.filter((r) => r.status !== "PASS");
  doc.note(
    badOhlcv.length ? "FAIL" : "PASS",
    badOhlcv.length
      ? `${badOhlcv.length} timeframe/exchange pairs disagree with silver.`
      : `All ${ohlcv.length} timeframe/exchange pairs count exactly the silver trades.`,
  );
  return { ohlcv, badOhlcv };
}

/** The columns discovery found per role, and what the clocks can resolve. */
export async function discoverySection(doc: Report, run: LabRun) {
  doc.md`## Schema discovery`;
  const mappings = await run.json<Mapping[]>("discovery");
  doc.table(
    mappings,
    [
      { key: "table", label: "Table" },
      {
        key: "exchangeTime",
        label: "Exchange time",
        format: (t) => `${t.column} (${formatResolution(t.resolutionMs)})`,
      },
      { key: "ingestionTime", label: "Ingestion time", format: clockLabel },
      { key: "finerIngestion", label: "Finer clock", format: (t) => (t ? clockLabel(t) : "–") },
      {
        key: "exchange",
        label: "Exchange",
        format: (e) => ("column" in e ? e.column : `'${e.constant}' (table name)`),
      },
      { key: "symbol", label: "Symbol" },
      { key: "sequence", label: "Sequence" },
    ],
    { caption: "Columns found per role in system.columns, with the time resolution of each", summary: true },
  );
  const coarse = mappings.filter(
    (m) => Math.max(m.ingestionTime.resolutionMs, m.ingestionTime.observedResolutionMs ?? 0) >= 1000,
  );
  if (coarse.length)
    doc.note(
      "UNRESOLVED",
      `Ingestion time is second-granular in ${coarse.map((m) => m.table).join(", ")}: a sub-second latency target ` +
        `can be neither passed nor failed from it.${mappings
          .filter((m) => m.finerIngestion)
          .map((m) => ` ${m.table}.${lagClock(m).column} (${formatResolution(lagClock(m).resolutionMs)}) resolves it.`)
          .join("")}`,
    );
  for (const m of mappings) for (const n of m.notes) doc.md`- ${m.table}: ${n}`;

  const silverMap = mappings.find((m) => m.layer === "silver");
  const fine = silverMap
    ? `${lagClock(silverMap).column}, ${formatResolution(lagClock(silverMap).resolutionMs)}`
    : "finest clock";
  return { coarse, fine };
}

/** Lag per exchange by the finest clock, the injected delay and the 1 s clock, with a log histogram. */
export async function lagSection(doc: Report, run: LabRun, fine: string) {
  doc.md`## Lag: exchange clock to pipeline clock`;
  doc.md`Lags below subtract two clocks (the exchange's and this machine's), so a clock offset shifts every figure.
    The per-trade lags are stored in \`lags.parquet\`; quantiles are computed by the engine over all rows
      (\`quantilesExact\`, exact because the lab's row counts are small).`;
  const q = await run.query<LagRow>(`SELECT exchange, count() AS trades,
      quantileExact(0.5)(lag_ms) AS p50, quantileExact(0.99)(lag_ms) AS p99, max(lag_ms) AS max,
      quantileExact(0.5)(injected_delay_ms) AS delay_p50, quantileExact(0.99)(injected_delay_ms) AS delay_p99,
      quantileExact(0.5)(lag_ingestion_ms) AS coarse_p50, countIf(lag_ingestion_ms < 0) / count() AS coarse_negative
    FROM {lags} GROUP BY exchange ORDER BY exchange`);
  const ms = (v: number) => `${fmt(v)} ms`;
  doc.table(
    q,
    [
      { key: "exchange", label: "Exchange" },
      { key: "trades", label: "Trades", align: "right" },
      { key: "p50", label: `p50 (${fine})`, format: ms, align: "right" },
      { key: "p99", label: "p99", format: ms, align: "right" },
      { key: "max", label: "max", format: ms, align: "right" },
      { key: "delay_p50", label: "injected delay p50", format: ms, align: "right" },
      { key: "delay_p99", label: "injected p99", format: ms, align: "right" },
      { key: "coarse_p50", label: "p50 (ingestion_timestamp, 1 s)", format: ms, align: "right" },
      {
        key: "coarse_negative",
        label: "negative (1 s clock)",
        format: (v) => `${(v * 100).toFixed(1)}%`,
        align: "right",
      },
    ],
    {
      caption:
        "Per-trade lag by exchange; the injected delay is ground truth, the rest adds flush wait and insert time",
      summary: true,
    },
  );

  // Log-spaced bins computed by the engine: ten per decade, so the figure's size does not grow with rows.
  const hist = await run.query<BinRow>(
    [
      logBinsSql("lag_ms", "{lags}", fine),
      logBinsSql("lag_ingestion_ms", "{lags}", "ingestion_timestamp (1 s)"),
      logBinsSql("injected_delay_ms", "{lags}", "injected delay (truth)"),
    ].join(" UNION ALL "),
  );
  const bins = hist.map((h) => ({ ...h, clock: h.series }));
  doc.figure(
    {
      height: 320,
      marginLeft: 50,
      x: { type: "log", label: "lag (ms, log scale)", grid: true },
      y: { label: "trades" },
      fy: { label: null },
      facet: { data: bins, y: "clock", marginRight: 150 },
      marks: [Plot.rectY(bins, { x1: "x1", x2: "x2", y: "n", fill: "clock", inset: 0.5 }), Plot.ruleY([0])],
    },
    "Lag histogram, log-spaced bins. Lags of zero or less (possible on the 1 s clock) are not drawn; their share " +
      "is in the table.",
  );
  return q;
}
