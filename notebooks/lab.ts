// # The K2 lab: one minute of market data through the real pipeline shape
//
// The lab notebook is the foundation's proof. It builds the K2 schema in the embedded
// engine, replays trades for the three exchanges at a chosen rate with a known delay,
// and checks the pipeline against the replayer's own ground truth.

import { type K2Config, loadConfig } from "../lib/k2/config.ts";
import { discoverWithObservation } from "../lib/k2/discovery.ts";
import { KAFKA_ENGINE } from "../lib/k2/stack.ts";
import { openLab, runLab } from "../lib/lab/lab.ts";
import { countsSql, lagsSql, ohlcvSql } from "../lib/lab/queries.ts";
import { delayOption, parseDelay } from "../lib/lab/random.ts";
import type { ReplaySummary } from "../lib/lab/replayer.ts";
import {
  discoverySection,
  introSection,
  type LabFetched,
  lagSection,
  landedSection,
  ohlcvSection,
} from "../lib/lab/report.ts";
import { type Fault, parseFault } from "../lib/lab/traffic.ts";
import { fmt } from "../lib/report/document.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";
import { BASE_RATE, formatDuration } from "../lib/runtime/units.ts";

type Options = {
  durationMs: number;
  rate: number;
  seed: number;
  delay: string;
  flushMs: number;
  faults: Fault[];
  config: K2Config;
};

/** The options, each declared with its normaliser (lib/runtime/options.ts). */
const OPTIONS = {
  duration: opt.duration("30s", "how long to replay"),
  rate: opt.rate("1x", `total message rate: 1x = ${BASE_RATE} msg/s, 5x, 10x, or 120/s`),
  delay: delayOption(
    "lognormal:40ms,0.5",
    "exchange-to-handler delay: fixed:5ms, uniform:5ms-50ms, exp:10ms, lognormal:40ms,0.5",
  ),
  flush: opt.duration(
    `${KAFKA_ENGINE.flushIntervalMs}ms`,
    "consumer flush interval (the Kafka engine's kafka_flush_interval_ms; K2's by default)",
  ),
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

if (import.meta.main) await main(lab);
export default lab;
