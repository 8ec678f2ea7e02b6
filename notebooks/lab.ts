// # The K2 lab: one minute of market data through the real pipeline shape
//
// The lab notebook is the foundation's proof. It builds the K2 schema in the embedded
// engine, replays trades for the three exchanges at a chosen rate with a known delay,
// and checks the pipeline against the replayer's own ground truth.
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import { openLab, runLab } from "../lib/lab/lab.ts";
import { parseDelay, delayOption } from "../lib/lab/random.ts";
import { parseFault, faultsHtml, type Fault } from "../lib/lab/traffic.ts";
import { discoverWithObservation, lagClock, type Mapping, type TimeColumn } from "../lib/k2/discovery.ts";
import { loadConfig, type K2Config } from "../lib/k2/config.ts";
import { countsSql, ohlcvSql, lagsSql } from "../lib/lab/queries.ts";
import { reconcile, ohlcvConsistency, type CountRow, type OhlcvRow } from "../lib/lab/reconcile.ts";
import { BASE_RATE, formatDuration, formatCount } from "../lib/runtime/units.ts";
import { Plot } from "../lib/report/plot.ts";
import { fmt, type Report } from "../lib/report/document.ts";
import { html } from "../lib/report/html.ts";
import { logBinsSql, type BinRow } from "../lib/latency/sql.ts";
import type { ReplaySummary } from "../lib/lab/replayer.ts";
import type { Fetched, RunData } from "../lib/runtime/store.ts";
import * as opt from "../lib/runtime/options.ts";

type Options = {
  durationMs: number;
  rate: number;
  seed: number;
  delay: string;
  flushMs: number;
  faults: Fault[];
  config: K2Config;
};

/** What the lab notebook stores besides its datasets. */
type LabFetched = Fetched & {
  parameters: { duration: string; rate: number; delay: string; flush: string; seed: number; faults: Fault[] };
};
/** Per exchange: lag quantiles by the finest clock, the injected delay, and the second-granular clock's. */
type LagRow = {
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

/** The options, each declared with its normaliser (lib/runtime/options.ts). */
const OPTIONS = {
  duration: opt.duration("60s", "how long to replay"),
  rate: opt.rate("1x", `total message rate: 1x = ${BASE_RATE} msg/s, 5x, 10x, or 120/s`),
  delay: delayOption(
    "lognormal:40ms,0.5",
    "exchange-to-handler delay: fixed:5ms, uniform:5ms-50ms, exp:10ms, lognormal:40ms,0.5",
  ),
  flush: opt.duration("100ms", "consumer flush interval (the Kafka engine's kafka_flush_interval_ms)"),
  fault: opt.list(parseFault, "comma-separated lab faults: silence:binance@10s+3m, drop:kraken@20s+5s, stall@30s+10s"),
  seed: opt.number("1", "random seed (same seed, same trades)", 0, 2 ** 32 - 1),
};

const lab: Notebook<Options, LabFetched, typeof OPTIONS> = {
  name: "lab",
  title: "K2 lab: the pipeline against ground truth",
  about: `Builds the K2 schema (bronze, silver, six OHLCV timeframes, their MVs) in the embedded engine,
replays trades for Binance, Kraken and Coinbase with Poisson arrivals and a modelled
exchange-to-handler delay, then checks that every trade sent landed in bronze and silver,
that every OHLCV timeframe counts the silver trades, and shows the lag distribution.`,
  options: OPTIONS,
  parse: (v) => ({
    durationMs: v.duration,
    delay: v.delay,
    rate: v.rate,
    seed: v.seed,
    flushMs: v.flush,
    faults: v.fault,
    config: loadConfig(), // read before the replay, so a bad file fails in a second, not after a minute
  }),

  // ## Fetch: replay, discover, store
  async fetch({ options: o, run, log }) {
    const target = await openLab();
    log(`replaying ${formatDuration(o.durationMs)} at ${o.rate} msg/s on ${target.label}`);
    const summary = await runLab(target, {
      ratePerSec: o.rate,
      durationMs: o.durationMs,
      seed: o.seed,
      delay: parseDelay(o.delay),
      flushMs: o.flushMs,
      faults: o.faults,
    });

    // Discovery on the lab schema, as on a real stack: which column is which, at what resolution.
    const mappings = await discoverWithObservation(target, target.database, o.config);
    await run.saveJson("discovery", mappings);
    const silver = mappings.find((m) => m.layer === "silver")!;
    const bronze = mappings.filter((m) => m.layer === "bronze");

    await run.saveQuery(target, "counts", countsSql(bronze, silver));
    await run.saveQuery(target, "ohlcv", ohlcvSql(target.database, silver));
    await run.saveQuery(target, "lags", lagsSql(silver));
    await run.saveJson("replay", summary);
    return {
      parameters: {
        duration: formatDuration(o.durationMs),
        rate: o.rate,
        delay: o.delay,
        flush: formatDuration(o.flushMs),
        seed: o.seed,
        faults: o.faults,
      },
      target: { kind: target.kind, label: target.label, version: target.version },
      window: { from: new Date(summary.startMs).toISOString(), to: new Date(summary.endMs).toISOString() },
    };
  },

  // ## Render: the document, from stored data only
  async render(doc, run) {
    const replay = await run.json<ReplaySummary>("replay");
    const p = run.manifest.parameters;
    introSection(doc, p, replay);
    const { counts, lost } = await landedSection(doc, run);
    const { ohlcv, badOhlcv } = await ohlcvSection(doc, run);
    const { coarse, fine } = await discoverySection(doc, run);
    const q = await lagSection(doc, run, fine);
    const total = counts.reduce((a, c) => a + c.sent, 0);
    return {
      failed: lost > 0 || badOhlcv.length > 0,
      summary: [
        `lab: ${p.duration} at ${p.rate} msg/s, seed ${p.seed}: ${total} trades sent, achieved ` +
          `${replay.achievedRate.toFixed(1)} msg/s`,
        `  landed: ${counts.map((c) => `${c.exchange} ${c.silver}/${c.sent} ${c.status}`).join(" · ")}`,
        `  OHLCV: ${ohlcv.length - badOhlcv.length}/${ohlcv.length} timeframe×exchange pairs match silver`,
        `  lag p50/p99 (${fine}): ${q.map((r) => `${r.exchange} ${fmt(r.p50)}/${fmt(r.p99)} ms`).join(" · ")}`,
        ...(coarse.length
          ? [`  UNRESOLVED below 1 s from ingestion_timestamp (${coarse.length} tables second-granular)`]
          : []),
      ],
    };
  },
};

type LabRun = RunData<LabFetched>;

/** What was replayed, how fast it landed, and which faults were injected. */
function introSection(doc: Report, p: LabFetched["parameters"], replay: ReplaySummary) {
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
async function landedSection(doc: Report, run: LabRun) {
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
async function ohlcvSection(doc: Report, run: LabRun) {
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
async function discoverySection(doc: Report, run: LabRun) {
  doc.md`## Schema discovery`;
  const mappings = await run.json<Mapping[]>("discovery");
  doc.table(
    mappings,
    [
      { key: "table", label: "Table" },
      { key: "exchangeTime", label: "Exchange time", format: (t) => `${t.column} (${res(t.resolutionMs)})` },
      { key: "ingestionTime", label: "Ingestion time", format: clock },
      { key: "finerIngestion", label: "Finer clock", format: (t) => (t ? clock(t) : "–") },
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
          .map((m) => ` ${m.table}.${lagClock(m).column} (${res(lagClock(m).resolutionMs)}) resolves it.`)
          .join("")}`,
    );
  for (const m of mappings) for (const n of m.notes) doc.md`- ${m.table}: ${n}`;

  const silverMap = mappings.find((m) => m.layer === "silver");
  const fine = silverMap ? `${lagClock(silverMap).column}, ${res(lagClock(silverMap).resolutionMs)}` : "finest clock";
  return { coarse, fine };
}

/** Lag per exchange by the finest clock, the injected delay and the 1 s clock, with a log histogram. */
async function lagSection(doc: Report, run: LabRun, fine: string) {
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

const clock = (t: TimeColumn) =>
  `${t.column} (${res(t.resolutionMs)} by ` +
  `type${t.observedResolutionMs ? `, ${res(t.observedResolutionMs)} in data` : ""})`;
const res = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : ms >= 1 ? `${ms} ms` : `${ms * 1000} µs`);

if (import.meta.main) await main(lab);
export default lab;
