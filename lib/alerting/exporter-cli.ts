// bun run exporter: the pipeline exporter as a long-running HTTP server for Prometheus to scrape.
//   bun run exporter [--port 9464] [--host 127.0.0.1] [--detach]   serve /metrics (in the background with --detach)
//   bun run exporter stop                                          stop the detached one

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connectClickHouse, targetFromEnv } from "../io/clickhouse.ts";
import { probeDocker } from "../io/docker.ts";
import { loadConfig } from "../k2/config.ts";
import { EXIT, K2Error, redact, usageError } from "../runtime/errors.ts";
import { dataDir } from "../runtime/paths.ts";
import { alive, spawnDetached } from "../runtime/process.ts";
import { PipelineExporter, SOURCES, scrapeBudgetMs } from "./exporter.ts";

const HELP = `usage: bun run exporter [--port 9464] [--host 127.0.0.1] [--detach] | stop

Serves the K2 pipeline's facts that no component exports (newest trade and trades landed per exchange,
ingestion delay, the Kafka engine consumers and insert failures, offload watermarks, container restarts
and OOM kills) at http://<host>:<port>/metrics for Prometheus, read from their sources at each scrape:
ClickHouse (CLICKHOUSE_URL, the lab's engine when unset), the Prefect DB (PREFECT_DB_URL) and Docker
(DOCKER_HOST). A source that is down makes its metrics absent and k2_exporter_source_up{source} 0.
  --detach    run in the background (pid and log in data/exporter/); bun run exporter stop ends it`;

const stateFile = () => join(dataDir(), "exporter", "state.json");

async function serve(host: string, port: number) {
  const spec = targetFromEnv();
  const db = await connectClickHouse(spec).catch((e: K2Error) => {
    console.error(`exporter: ClickHouse unavailable (${redact(e.message)}): its metrics stay absent`);
    return null;
  });
  const probe = await probeDocker();
  const exporter = new PipelineExporter({
    db,
    database: spec.database,
    config: loadConfig(),
    docker: "unreachable" in probe ? null : probe,
    prefectDbUrl: process.env.PREFECT_DB_URL?.trim() || undefined,
  });
  let inflight: Promise<string> | null = null;
  const said = new Map<string, string>();
  const scrape = async (budgetMs?: number) => {
    const text = await (inflight ??= exporter.scrape(budgetMs).finally(() => (inflight = null)));
    for (const s of SOURCES) {
      const now = exporter.errors.get(s) ?? "up";
      if (said.get(s) !== now) console.error(`exporter: source ${s}: ${now}`);
      said.set(s, now);
    }
    return text;
  };
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: host,
      port,
      fetch: async (req) =>
        new URL(req.url).pathname === "/metrics"
          ? new Response(await scrape(scrapeBudgetMs(req.headers)), {
              headers: { "content-type": exporter.registry.contentType },
            })
          : new Response("k2 pipeline exporter: /metrics\n"),
    });
  } catch (e) {
    throw new K2Error(`cannot listen on ${host}:${port} (${(e as Error).message}): choose another --port`, EXIT.usage);
  }
  console.log(`exporter: serving http://${host}:${server.port}/metrics (${db ? db.label : "no ClickHouse"})`);
  const stop = () => {
    server.stop(true);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function detach(args: string[]) {
  const log = join(dataDir(), "exporter", "exporter.log");
  const pid = spawnDetached("lib/alerting/exporter-cli.ts", args, log);
  writeFileSync(stateFile(), JSON.stringify({ pid, args, log }));
  return { pid, log };
}

async function main(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "9464" },
      host: { type: "string", default: "127.0.0.1" },
      detach: { type: "boolean" },
      help: { type: "boolean" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return void console.log(HELP);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw usageError(`invalid --port: ${JSON.stringify(values.port)} (a port number such as 9464)`);
  if (positionals[0] === "stop") {
    const st = existsSync(stateFile()) ? (JSON.parse(readFileSync(stateFile(), "utf8")) as { pid: number }) : null;
    if (!st || !alive(st.pid)) throw new K2Error("no detached exporter is running", EXIT.notFound);
    process.kill(st.pid, "SIGTERM");
    rmSync(stateFile());
    return void console.log(`exporter: stopped (pid ${st.pid})`);
  }
  if (positionals.length) throw usageError(`unknown command ${JSON.stringify(positionals[0])} (see --help)`);
  if (values.detach) {
    const { pid, log } = detach(argv.filter((a) => a !== "--detach"));
    return void console.log(`exporter: running in the background (pid ${pid}, log ${log}); bun run exporter stop`);
  }
  await serve(values.host!, port);
}

try {
  await main(Bun.argv.slice(2));
} catch (e) {
  const err = e instanceof K2Error ? e : new K2Error(redact(String((e as Error)?.message ?? e)), 1);
  console.error(`exporter: error: ${redact(err.message.split("\n")[0]!)}`);
  process.exit(err.exitCode);
}
