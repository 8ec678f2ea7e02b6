// `bun run bench`: speed and memory figures, each as a ratio against a reference run in the
// same bench run. Each measured case runs in its own process (one embedded engine per
// process, and a clean peak-RSS reading from /proc/self/status VmHWM).
//
//   bun run bench                 every case, 10M rows
//   bun run bench --rows 1000000  a smaller run

import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectClickHouse } from "../lib/io/clickhouse.ts";
import { resetLab } from "../lib/lab/schema.ts";
import { parseNumber } from "../lib/runtime/units.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    rows: { type: "string", default: "10000000" },
    limit: { type: "string" },
    child: { type: "string" },
    dir: { type: "string" },
    only: { type: "string" },
    help: { type: "boolean" },
  },
  strict: true,
});
if (values.help) {
  console.log(
    "usage: bun run bench [--rows N]\n\nOn N lab trades (default 10M) in the embedded engine, prints: Parquet export " +
      "rows/s and peak RSS through the\nclient and by the engine's INTO OUTFILE; the per-exchange quantile query on " +
      "the table and on the exported Parquet;\nthe latency figures' render time and size for 10k and N stored rows; " +
      "the exporter's scrape at 10k, 1M and N " +
      "silver rows (--only exporter: just that); the main job's wall time per step (--only main: run it now); " +
      "one burn-in sampling round against docker stats --no-stream (--only sampling: just that). " +
      "Each figure is a ratio against a reference in the same run.",
  );
  process.exit(0);
}
const rows = parseNumber(String(values.rows), "--rows", 1000);
const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;

// ---- child side: one case, one process, prints one JSON line ----
if (values.child) {
  const dir = String(values.dir);
  const t = await connectClickHouse({ kind: "embedded", path: join(dir, "engine"), database: "k2", lab: true });
  const t0 = performance.now();
  let extra: Record<string, unknown> = {};
  switch (values.child) {
    case "exporter": {
      // `limit` silver trades at K2's 50 msg/s ending now (K2's silver, partitioned by day: 10M rows are 2.3 days),
      // then the exporter's scrape of silver, best of 3 after a warm-up. Its queries are bounded by exchange time,
      // so the time should stay flat as the history grows.
      const { PipelineExporter } = await import("../lib/alerting/exporter.ts");
      const limit = Number(values.limit);
      await resetLab(t);
      const step = 20_000; // µs between trades: 50 msg/s
      await t.command(`INSERT INTO k2.silver_trades (message_id, trade_id, exchange, symbol, canonical_symbol,
          asset_class, currency, price, quantity, quote_volume, side, timestamp, ingestion_timestamp, processed_at,
          source_sequence, vendor_data, is_valid)
        SELECT generateUUIDv4(), toString(number), ['binance','kraken','coinbase'][number % 3 + 1],
          concat('SYM', toString(number % 12)), concat('SYM', toString(number % 12), '/USD'), 'crypto', 'USD',
          toDecimal128(100, 8), toDecimal128(0.01, 8), toDecimal128(1, 8), 'UNKNOWN',
          now64(6) - toIntervalMicrosecond((${limit} - number) * ${step}),
          toDateTime64(toDateTime(now64(6) - toIntervalMicrosecond((${limit} - number) * ${step})), 6),
          now64(6) - toIntervalMicrosecond((${limit} - number) * ${step}) + toIntervalMillisecond(40),
          number, map(), true
        FROM numbers(${limit})`);
      const { loadConfig } = await import("../lib/k2/config.ts");
      const ex = new PipelineExporter({ db: t, database: "k2", config: loadConfig(), docker: null, timeoutMs: 60_000 });
      await ex.scrape();
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t1 = performance.now();
        const text = await ex.scrape();
        times.push(performance.now() - t1);
        if (!/k2_exporter_source_up\{source="silver"\} 1/.test(text)) throw new Error("silver source down in bench");
      }
      extra = { scrapeMs: Math.min(...times) };
      break;
    }
    case "fill": {
      // Lab-shaped silver trades made by the engine: 3 exchanges, their symbols, µs clocks.
      await resetLab(t);
      await t.command(
        `CREATE TABLE k2.bench_trades AS k2.silver_trades ENGINE = MergeTree ORDER BY (exchange, timestamp)`,
      );
      await t.command(`INSERT INTO k2.bench_trades SELECT
          generateUUIDv4(), toString(number), ['binance','kraken','coinbase'][number % 3 + 1], concat('SYM',
            toString(number % 12)),
          concat('SYM', toString(number % 12), '/USD'), 'crypto', 'USD', toDecimal128(100 + (number % 1000) / 7, 8),
            toDecimal128(0.01, 8),
          toDecimal128(1, 8), 'UNKNOWN', toDateTime64('2026-02-19 00:00:00', 6, 'UTC') + toIntervalMicrosecond(number
            * 20000),
          toDateTime64('2026-02-19 00:00:00', 6, 'UTC') + toIntervalSecond(intDiv(number * 20000 + 40000, 1000000)),
          toDateTime64('2026-02-19 00:00:00', 6) + toIntervalMicrosecond(number * 20000 + 40000 + number % 9973),
          number, map('kafka_offset', toString(number)), true
        FROM numbers(${rows})`);
      break;
    }
    case "quantiles": {
      // The per-exchange quantile query, on the engine's table and on the same rows exported to Parquet.
      const lags = join(dir, "lags.parquet");
      await t.exportParquet(
        `SELECT exchange, toDateTime64(timestamp, 3, 'UTC') AS exchange_ts, dateDiff('microsecond', timestamp, ` +
          `processed_at) / 1000 AS lag_ms FROM k2.bench_trades`,
        lags,
      );
      const q = (src: string) =>
        `SELECT exchange, count() AS n, quantileExact(0.5)(lag_ms) AS p50, quantileExact(0.99)(lag_ms) AS p99, ` +
        `max(lag_ms) AS mx FROM ${src} GROUP BY exchange ORDER BY exchange`;
      const best = async (sql: string) => {
        let ms = Infinity,
          rows: unknown;
        for (let i = 0; i < 3; i++) {
          const t1 = performance.now();
          rows = await t.query(sql);
          ms = Math.min(ms, performance.now() - t1);
        }
        return { ms, rows };
      };
      const table = await best(
        q(`(SELECT exchange, dateDiff('microsecond', timestamp, processed_at) / 1000 AS lag_ms FROM k2.bench_trades)`),
      );
      const file = await best(q(`file('${lags}', Parquet)`));
      extra = { tableMs: table.ms, fileMs: file.ms, same: JSON.stringify(table.rows) === JSON.stringify(file.rows) };
      break;
    }
    case "render": {
      // The latency figures from a stored per-trade dataset of `limit` rows: engine queries plus Plot to SVG.
      const { RunData } = await import("../lib/runtime/store.ts");
      const { Report } = await import("../lib/report/document.ts");
      const { latencyFigures } = await import("../lib/latency/report.ts");
      const lags = join(dir, `render-${values.limit}.parquet`);
      await t.exportParquet(
        `SELECT exchange, toDateTime64(timestamp, 3, 'UTC') AS exchange_ts, dateDiff('microsecond', timestamp, ` +
          `processed_at) / 1000 AS lag_ms FROM k2.bench_trades LIMIT ${Number(values.limit)}`,
        lags,
      );
      const [w] = await t.query<{ a: number; b: number }>(
        `SELECT toUnixTimestamp64Milli(min(exchange_ts)) AS a, toUnixTimestamp64Milli(max(exchange_ts)) AS b FROM ` +
          `file('${lags}', Parquet)`,
      );
      const run = new RunData(dir, {
        datasets: { lags_1x: { file: `render-${values.limit}.parquet`, bytes: 0 } },
      } as any);
      const rec = { scenario: "1x", window: { fromMs: w!.a, toMs: w!.b }, mappings: [], lab: true } as any;
      // Time the engine's queries apart from the rest (Plot to SVG, HTML): only the rest is "rendering".
      let queryMs = 0;
      const query = run.query.bind(run);
      run.query = async (sql: string) => {
        const q0 = performance.now();
        try {
          return await query(sql);
        } finally {
          queryMs += performance.now() - q0;
        }
      };
      const t1 = performance.now();
      const doc = new Report("bench");
      await latencyFigures(doc, run, [rec], [{ scenario: "1x" } as any]);
      const page = doc.renderHtml({ subtitle: "", footer: "" });
      extra = { renderMs: performance.now() - t1 - queryMs, queryMs, htmlBytes: page.length };
      rmSync(lags);
      break;
    }
    case "export-client":
    case "export-engine": {
      const file = join(dir, `${values.child}.parquet`);
      await t.exportParquet(
        `SELECT * FROM k2.bench_trades${values.limit ? ` LIMIT ${Number(values.limit)}` : ""}`,
        file,
        values.child === "export-client" ? "client" : "engine",
      );
      extra = { bytes: statSync(file).size };
      rmSync(file);
      break;
    }
  }
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, peakRssMb: peakRssMb(), ...extra }));
  process.exit(0);
}

// ---- parent side: run the cases, print figures ----
const dir = join(tmpdir(), `k2-bench-${process.pid}`);
mkdirSync(dir, { recursive: true });
async function child(
  name: string,
  limit = rows,
): Promise<{ seconds: number; peakRssMb: number; bytes?: number; rows: number; [k: string]: unknown }> {
  const p = Bun.spawn(
    [
      process.execPath,
      import.meta.path,
      "--child",
      name,
      "--dir",
      dir,
      "--rows",
      String(rows),
      "--limit",
      String(limit),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`bench case ${name} failed`);
  return { ...JSON.parse(out.trim().split("\n").at(-1)!), rows: limit };
}
const n = rows.toLocaleString("en-US");

/**
 * The main job's wall time per step: `--only main` runs it (bun run all, in a temporary data and out folder, so that
 * nothing stored is touched); otherwise the last run's record in data/main-job.json, if any. Against the 10-minute
 * budget of a fresh 2-core machine.
 */
async function mainJob() {
  const { dataDir } = await import("../lib/runtime/paths.ts");
  let file = join(dataDir(), "main-job.json");
  if (values.only === "main") {
    const env = { ...process.env, K2_DATA_DIR: join(dir, "main", "data"), K2_OUT_DIR: join(dir, "main", "out") };
    const p = Bun.spawn([process.execPath, join(import.meta.dir, "..", "notebooks", "all.ts")], {
      env,
      stdout: "inherit",
      stderr: "inherit",
    });
    await p.exited;
    file = join(env.K2_DATA_DIR, "main-job.json");
  }
  if (!existsSync(file)) return console.log("Main job: no record (bun run all, or bun run bench --only main)");
  const r: { at: string; total: number; serial?: number; results: { name: string; code: number; seconds: number }[] } =
    JSON.parse(readFileSync(file, "utf8"));
  console.log(`Main job (bun run all, ${r.at}), wall time per step against the figures before stages (7707cd5):`);
  for (const x of r.results) {
    const before = MAIN_BEFORE[x.name];
    const vs = before ? `  was ${before} s, ratio ${(x.seconds / before).toFixed(2)}x` : "";
    console.log(`  ${x.name.padEnd(18)} ${x.seconds.toFixed(1).padStart(7)} s${vs}${x.code ? `  exit ${x.code}` : ""}`);
  }
  const was = Object.values(MAIN_BEFORE).reduce((a, b) => a + b, 0);
  console.log(
    `  ${"steps (wall)".padEnd(18)} ${r.total.toFixed(1).padStart(7)} s  ratio ${(r.total / 300).toFixed(2)}x of the ` +
      `300 s budget, ${(r.total / was).toFixed(2)}x of the ${was} s before` +
      (r.serial ? `; ${r.serial.toFixed(0)} s if one after another` : ""),
  );
}
/** The main job's steps as measured on a fresh 2-core machine before they ran in stages (issue: a fresh machine). */
const MAIN_BEFORE: Record<string, number> = {
  lab: 32,
  "00-health": 34,
  "01-latency": 96,
  "02-burn-in": 58,
  "03-failure-modes": 132,
  "04-alerting": 2,
  "04-live-fire": 166,
  "05-runbooks": 39,
};

/** One burn-in sampling round of the running K2 containers against `docker stats --no-stream` on the same ones. */
async function sampling() {
  // Sampling: one round of the sampler over the K2 containers against `docker stats --no-stream` on the same ones.
  const { probeDocker } = await import("../lib/io/docker.ts");
  const docker = await probeDocker();
  if ("unreachable" in docker) console.log(`Burn-in sampling: skipped (${docker.unreachable})`);
  else {
    const { sampleRound } = await import("../lib/burnin/sampler.ts");
    const { ensureLabStack } = await import("../lib/lab/stack.ts");
    if (!(await docker.docker.listContainers({ filters: { name: ["^/k2-"] } })).length) await ensureLabStack(docker);
    const names = (await docker.docker.listContainers({ filters: { name: ["^/k2-"] } })).map((c) =>
      c.Names[0]!.slice(1),
    );
    const times: number[] = [],
      cpu: number[] = [];
    const counters = new Map();
    // rounds spaced as a sampler's are (not back to back), each at a random point of the daemon's 1 s collection
    for (let i = 0; i < 5; i++) {
      await Bun.sleep(300 + Math.random() * 1000);
      const c0 = process.cpuUsage(),
        t0 = performance.now();
      await sampleRound(docker, i + 1, { prefix: "k2-", expected: [] }, counters);
      times.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e6);
    }
    const cli: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const p = Bun.spawn(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}},{{.CPUPerc}},{{.MemUsage}}", ...names],
        { stdout: "ignore", stderr: "ignore", env: { ...process.env, DOCKER_HOST: docker.host } },
      );
      await p.exited;
      cli.push(performance.now() - t0);
    }
    // A plain (streaming-off) stats call per container, one after another, as a naive loop does (moby#40437).
    const t0 = performance.now();
    for (const n of names) await docker.docker.getContainer(n).stats({ stream: false } as any);
    const naive = performance.now() - t0;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
    const worst = (xs: number[]) => Math.max(...xs);
    console.log(`Burn-in sampling of ${names.length} running containers (mean of 5, worst in brackets):`);
    console.log(
      `  docker stats --no-stream                          ${(mean(cli) / 1000).toFixed(2).padStart(6)} s ` +
        `(${(worst(cli) / 1000).toFixed(2)} s)  (reference)`,
    );
    console.log(
      `  sampler round (inspect, one one-shot read each)   ${(mean(times) / 1000).toFixed(2).padStart(6)} s ` +
        `(${(worst(times) / 1000).toFixed(2)} s)  ratio ${(mean(times) / mean(cli)).toFixed(2)}x ` +
        `(worst/mean ${(worst(times) / mean(cli)).toFixed(2)}x); sampler CPU ${mean(cpu).toFixed(3)} s per round`,
    );
    console.log(
      `  plain stats per container, one after another      ${(naive / 1000).toFixed(2).padStart(6)} s  ratio ` +
        `${(naive / mean(cli)).toFixed(2)}x (once)`,
    );
    console.log(
      "  (a one-shot read waits at most for the daemon's next 1 s stats collection; CPU comes from the counters " +
        "between rounds, so a round needs no second read; the target is at most 0.5x)",
    );
  }
}

try {
  if (values.only === "sampling") {
    await sampling();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  if (values.only === "main") {
    await mainJob();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
  console.log(
    `bench: ${n} lab trades (silver shape), embedded ClickHouse, Bun ${Bun.version}, ` +
      `${navigator.hardwareConcurrency} cores`,
  );
  // The pipeline exporter's scrape against silver at 10k, 1M and N rows, each in a fresh engine.
  const sizes = [...new Set([10_000, 1_000_000, rows].filter((x) => x <= rows))];
  const scrapes = [];
  for (const size of sizes) {
    const r = await child("exporter", size);
    scrapes.push({ rows: r.rows, scrapeMs: Number(r.scrapeMs) });
  }
  console.log(
    "Pipeline exporter, one scrape of silver (newest trade, landed, delay) at 50 msg/s of history, best of 3:",
  );
  for (const r of scrapes)
    console.log(
      `  ${r.rows.toLocaleString("en-US").padStart(11)} silver rows  ${r.scrapeMs.toFixed(1).padStart(7)} ms` +
        (r === scrapes[0] ? "  (reference)" : `  ratio ${(r.scrapeMs / scrapes[0]!.scrapeMs).toFixed(2)}x`),
    );
  if (values.only === "exporter") process.exit(0);
  await mainJob();
  const fill = await child("fill");
  console.log(`  fill by the engine (INSERT ... SELECT FROM numbers): ${fill.seconds.toFixed(1)} s`);
  const idle = await child("export-engine", 1);
  const small = await child("export-engine", Math.floor(rows / 10));
  const half = await child("export-engine", Math.floor(rows / 2));
  const engine = await child("export-engine");
  const client = await child("export-client");
  const line = (what: string, r: typeof engine) =>
    `  ${what.padEnd(44)} ${r.rows.toLocaleString("en-US").padStart(11)} rows ` +
    `${(r.rows / r.seconds / 1e6).toFixed(2).padStart(6)} M rows/s  ${r.seconds.toFixed(1).padStart(6)} s  peak RSS ` +
    `${r.peakRssMb.toFixed(0).padStart(6)} MB  ${((r.bytes ?? 0) / 1e6).toFixed(0)} MB Parquet`;
  console.log("Parquet export of every row:");
  console.log(line("engine INTO OUTFILE, one row (idle engine)", idle));
  console.log(line("engine INTO OUTFILE, a tenth of the rows", small));
  console.log(line("engine INTO OUTFILE, half the rows", half));
  console.log(line("engine INTO OUTFILE (reference)", engine));
  console.log(line("through @clickhouse/client exec", client));
  console.log(
    `  ratio client/engine: time ${(client.seconds / engine.seconds).toFixed(2)}x, peak RSS ` +
      `${(client.peakRssMb / engine.peakRssMb).toFixed(2)}x`,
  );
  console.log(
    `  engine peak RSS, all rows / half: ${(engine.peakRssMb / half.peakRssMb).toFixed(2)}x; all / a tenth: ` +
      `${(engine.peakRssMb / small.peakRssMb).toFixed(2)}x (flat is 1.0x; the idle engine alone is ` +
      `${idle.peakRssMb.toFixed(0)} MB)`,
  );
  console.log(
    "  (the chdb connection buffers a whole result before the client streams it; against a server the client path " +
      "streams chunk by chunk)",
  );

  const q = (await child("quantiles")) as any;
  console.log("Per-exchange quantileExact(0.5, 0.99) and max over every row (best of 3):");
  console.log(`  on the engine's table           ${q.tableMs.toFixed(0).padStart(6)} ms  (reference)`);
  console.log(
    `  on the exported Parquet file    ${q.fileMs.toFixed(0).padStart(6)} ms  ratio ` +
      `${(q.fileMs / q.tableMs).toFixed(2)}x; same results: ${q.same}`,
  );

  const few = Math.min(10_000, rows);
  const r1 = (await child("render", few)) as any,
    r2 = (await child("render", rows)) as any;
  console.log("Latency figures (ECDF, p50/p99 series, histogram) from stored per-trade lags:");
  const fig = (n: number, r: any) =>
    `  ${n.toLocaleString("en-US").padStart(11)} rows  render ${r.renderMs.toFixed(0).padStart(5)} ms  ` +
    `${(r.htmlBytes / 1024).toFixed(0).padStart(4)} KiB of HTML  (engine queries ${r.queryMs.toFixed(0)} ms)`;
  console.log(`${fig(few, r1)}  reference`);
  console.log(
    `${fig(rows, r2)}  ratio ${(r2.renderMs / r1.renderMs).toFixed(2)}x render time, ` +
      `${(r2.htmlBytes / r1.htmlBytes).toFixed(2)}x size for ${(rows / few).toFixed(0)}x rows`,
  );

  await sampling();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
