// `bun run discover`: which column plays which role in each K2 trade table of the target
// (CLICKHOUSE_URL, or the embedded lab), at what resolution. Run it against a real stack
// before the step notebooks, and put any correction in k2.config.json.
import { parseArgs } from "node:util";
import { connectClickHouse } from "../io/clickhouse.ts";
import { EXIT, K2Error, redact } from "../runtime/errors.ts";
import { loadConfig } from "./config.ts";
import { discoverTables, lagClock, observeClocks } from "./discovery.ts";

const HELP = `usage: bun run discover [--json]

Maps, for each trade table (the MergeTree tables among bronze_trades_* and silver_trades, or
discovery.tables in k2.config.json; views and Kafka engine tables named so are listed as not
measured), its exchange-time, ingestion-time, exchange, symbol and sequence columns,
with each time column's resolution by type and as observed in the data.
Target: CLICKHOUSE_URL (+ CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE) from
the environment or .env; unset means the embedded lab engine under data/lab-engine.`;

try {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { json: { type: "boolean" }, help: { type: "boolean" } },
    strict: true,
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const config = loadConfig();
  const target = await connectClickHouse();
  const found = await discoverTables(target, target.database, config);
  const mappings = await observeClocks(target, found.mappings);
  if (values.json) console.log(JSON.stringify({ ...found, mappings }, null, 2));
  else {
    console.log(`${target.label}, ClickHouse ${target.version}, database ${target.database}`);
    for (const m of mappings) {
      const t = (c: { column: string; resolutionMs: number; observedResolutionMs?: number | null }) =>
        `${c.column} (${c.resolutionMs} ms${c.observedResolutionMs ? `, ${c.observedResolutionMs} ms in data` : ""})`;
      console.log(
        `${m.table}: exchange time ${t(m.exchangeTime)}; ingestion ${t(m.ingestionTime)}; lag clock ` +
          `${lagClock(m).column}; ` +
          `exchange ${"column" in m.exchange ? m.exchange.column : `'${m.exchange.constant}'`}; symbol ${m.symbol}; ` +
          `sequence ${m.sequence ?? "none"}`,
      );
      for (const n of m.notes) console.log(`  note: ${n}`);
    }
    for (const n of found.notMeasured) console.log(`${n.table}: not measured (${n.engine}: holds no rows of its own)`);
  }
  await target.close();
  process.exit(0);
} catch (e) {
  const err = e instanceof K2Error ? e : new K2Error((e as Error).message, EXIT.usage);
  console.error(`discover: error: ${redact(err.message.split("\n")[0]!)}`);
  process.exit(err.exitCode);
}
