// `bun run bench`: speed and memory figures, each as a ratio against a reference run in the
// same bench run. Each measured case runs in its own process (one embedded engine per
// process, and a clean peak-RSS reading from /proc/self/status VmHWM).
//
//   bun run bench                 every case, 10M rows
//   bun run bench --rows 1000000  a smaller run
import { parseArgs } from "node:util";
import { readFileSync, rmSync, statSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { connectClickHouse } from "../lib/clickhouse.ts";
import { resetLab } from "../lib/lab/schema.ts";
import { parseNumber } from "../lib/units.ts";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { rows: { type: "string", default: "10000000" }, limit: { type: "string" }, child: { type: "string" }, dir: { type: "string" }, help: { type: "boolean" } }, strict: true });
if (values.help) {
  console.log("usage: bun run bench [--rows N]\n\nPrints rows/s and peak RSS of exporting N lab trades to Parquet through the client and by the engine's INTO OUTFILE, and their ratios.");
  process.exit(0);
}
const rows = parseNumber(String(values.rows), "--rows", 1000);
const peakRssMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))![1]) / 1024;

// ---- child side: one case, one process, prints one JSON line ----
if (values.child) {
  const dir = String(values.dir);
  const t = await connectClickHouse({ kind: "embedded", path: join(dir, "engine"), database: "k2" });
  const t0 = performance.now();
  let extra: Record<string, unknown> = {};
  switch (values.child) {
    case "fill": {
      // Lab-shaped silver trades made by the engine: 3 exchanges, their symbols, µs clocks.
      await resetLab(t);
      await t.command(`CREATE TABLE k2.bench_trades AS k2.silver_trades ENGINE = MergeTree ORDER BY (exchange, timestamp)`);
      await t.command(`INSERT INTO k2.bench_trades SELECT
          generateUUIDv4(), toString(number), ['binance','kraken','coinbase'][number % 3 + 1], concat('SYM', toString(number % 12)),
          concat('SYM', toString(number % 12), '/USD'), 'crypto', 'USD', toDecimal128(100 + (number % 1000) / 7, 8), toDecimal128(0.01, 8),
          toDecimal128(1, 8), 'UNKNOWN', toDateTime64('2026-02-19 00:00:00', 6, 'UTC') + toIntervalMicrosecond(number * 20000),
          toDateTime64('2026-02-19 00:00:00', 6, 'UTC') + toIntervalSecond(intDiv(number * 20000 + 40000, 1000000)),
          toDateTime64('2026-02-19 00:00:00', 6) + toIntervalMicrosecond(number * 20000 + 40000 + number % 9973),
          number, map('kafka_offset', toString(number)), true
        FROM numbers(${rows})`);
      break;
    }
    case "export-client":
    case "export-engine": {
      const file = join(dir, `${values.child}.parquet`);
      await t.exportParquet(`SELECT * FROM k2.bench_trades${values.limit ? ` LIMIT ${Number(values.limit)}` : ""}`, file, values.child === "export-client" ? "client" : "engine");
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
async function child(name: string, limit = rows): Promise<{ seconds: number; peakRssMb: number; bytes?: number; rows: number }> {
  const p = Bun.spawn([process.execPath, import.meta.path, "--child", name, "--dir", dir, "--rows", String(rows), "--limit", String(limit)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`bench case ${name} failed`);
  return { ...JSON.parse(out.trim().split("\n").at(-1)!), rows: limit };
}
const n = rows.toLocaleString("en-US");
try {
  console.log(`bench: ${n} lab trades (silver shape), embedded ClickHouse, Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`);
  const fill = await child("fill");
  console.log(`  fill by the engine (INSERT ... SELECT FROM numbers): ${fill.seconds.toFixed(1)} s`);
  const small = await child("export-engine", Math.floor(rows / 10));
  const engine = await child("export-engine");
  const client = await child("export-client");
  const line = (what: string, r: typeof engine) =>
    `  ${what.padEnd(44)} ${r.rows.toLocaleString("en-US").padStart(11)} rows ${(r.rows / r.seconds / 1e6).toFixed(2).padStart(6)} M rows/s  ${r.seconds.toFixed(1).padStart(6)} s  peak RSS ${r.peakRssMb.toFixed(0).padStart(6)} MB  ${((r.bytes ?? 0) / 1e6).toFixed(0)} MB Parquet`;
  console.log("Parquet export of every row:");
  console.log(line("engine INTO OUTFILE, a tenth of the rows", small));
  console.log(line("engine INTO OUTFILE (reference)", engine));
  console.log(line("through @clickhouse/client exec", client));
  console.log(`  ratio client/engine: time ${(client.seconds / engine.seconds).toFixed(2)}x, peak RSS ${(client.peakRssMb / engine.peakRssMb).toFixed(2)}x`);
  console.log(`  engine peak RSS, all rows / a tenth: ${(engine.peakRssMb / small.peakRssMb).toFixed(2)}x (flat is 1.0x)`);
  console.log("  (the chdb connection buffers a whole result before the client streams it; against a server the client path streams chunk by chunk)");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
