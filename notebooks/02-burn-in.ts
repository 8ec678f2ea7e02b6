// # Step 2: 24-hour resource burn-in
//
// A sampler reads every K2 container each interval (CPU in cores as the docker CLI computes
// it, memory less inactive cache, state, health, restarts, OOM kills) into samples.csv; the
// report judges each service against its Phase 7 budget, the stack against its totals, and
// each memory series for a leak.
//
//   bun notebooks/02-burn-in.ts                      the lab: a short burn-in, then the report
//   bun notebooks/02-burn-in.ts start --duration 24h --interval 5m [--detach]
//   bun notebooks/02-burn-in.ts status | stop | start --resume
//   bun notebooks/02-burn-in.ts import /tmp/k2-burn-in.csv
//   bun notebooks/02-burn-in.ts --from latest        re-render
import { parseArgs } from "node:util";
import { join, basename, relative } from "node:path";
import { outDir } from "../lib/runtime/paths.ts";
import { readFileSync } from "node:fs";
import { top, renderRun, flagError, watchAndRender, type Notebook } from "../lib/runtime/notebook.ts";
import { targetFromEnv, connectClickHouse } from "../lib/io/clickhouse.ts";
import { requireHealthy } from "../lib/health/run.ts";
import { loadConfig } from "../lib/k2/config.ts";
import { connectDocker, probeDocker } from "../lib/io/docker.ts";
import { ensureLabStack } from "../lib/lab/stack.ts";
import { SERVICES } from "../lib/k2/stack.ts";
import {
  runSampler,
  findRun,
  detach,
  alive,
  countRounds,
  importRun,
  noEngineRun,
  NOTEBOOK,
  type StartOptions,
} from "../lib/burnin/run.ts";
import { analyseBurnIn, type BurnInFetched, type SampleRow } from "../lib/burnin/summary.ts";
import { resultsSection, totalsSection, trendsSection, figuresSection } from "../lib/burnin/report.ts";
import { openRun, type RunData } from "../lib/runtime/store.ts";
import { parseDuration, formatDuration, durationSpec } from "../lib/runtime/units.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";
import { K2Error, EXIT, usageError } from "../lib/runtime/errors.ts";
import type { Report } from "../lib/report/document.ts";

const HELP = `Step 2: 24-hour resource burn-in

usage: bun notebooks/02-burn-in.ts [start|status|stop|import <file>] [options]

  (no command)          on the lab: create the lab's containers, sample them briefly, render
  start                 sample every K2 container (name prefix k2-) each --interval for --duration
    --duration <time>   default 24h (lab: 60s)
    --interval <time>   default 5m (lab: 5s)
    --detach            run in the background (pid in state.json, output in data/02-burn-in/sampler-*.log)
    --resume            continue the newest run after a crash or SIGKILL (no lost or duplicate round)
    --prefix <name>     container name prefix (default k2-)
    --offload-period <time>  Spark's offload schedule (default 15m; lab 20s)
    --skip-health       on a stack, do not run the health checks first
  status [--run <id>]   samples taken of expected, ETA, latest figures per service
  stop [--run <id>]     end a running sampler cleanly (SIGTERM; it finishes its round)
  import <file>         the brief's shell-loop file or docker stats JSON lines, as a run
  --from <run-id|latest>  re-render a stored run, no Docker needed
  --gate                exit 6 when a service or the stack fails
  --watch               after rendering, re-render on every change under lib/ and notebooks/
  --help

Writes data/02-burn-in/<run-id>/ (samples.csv, state.json, manifest.json), out/02-burn-in.html and .md.
Docker: DOCKER_HOST (default unix:///var/run/docker.sock).`;

type Options = { gate: boolean };
const burnIn: Notebook<Options, BurnInFetched> = {
  name: NOTEBOOK,
  title: "Step 2: 24-hour resource burn-in",
  about: HELP,
  options: {},
  parse: (v) => ({ gate: !!v.gate }),
  fetch: async () => {
    throw new Error("the burn-in samples through its own commands");
  },
  render: (doc, run) => renderBurnIn(doc, run),
};

// ## Render
async function renderBurnIn(doc: Report, run: RunData<BurnInFetched>) {
  const m = run.manifest;
  if (m.noEngine) {
    doc.note(
      "SKIPPED",
      `${m.noEngine}. Skipped: sampling the K2 containers, and so every budget check. To enable it, start Docker ` +
        `(here: dockerd) or set DOCKER_HOST to a reachable engine, then run bun notebooks/02-burn-in.ts again.`,
    );
    return { summary: [`burn-in: SKIPPED — ${m.noEngine}`], failed: false };
  }
  const { rows, gaps, rounds, containers, results, totals, period, failed } = await analyseBurnIn(run);
  const p = m.parameters;
  doc.md`${p.source ? `Imported from ${p.source}` : `Sampled every ${p.interval} for ${p.duration}`}:
    **${rounds}** rounds${p.expectedRounds ? ` of ${p.expectedRounds} expected` : ""},
      ${new Set(rows.map((r) => r.container)).size} containers. CPU is in cores as the docker CLI computes it (CPU
        delta over system delta times online CPUs, read twice a second apart); memory is usage less inactive file cache.
    ${p.status === "running" ? "The run is still in progress: this is a partial report." : ""}`;
  if (gaps.length)
    doc.note(
      "WARN",
      `The Docker engine was unreachable in ${gaps.length} rounds (${gaps
        .map((g) => `#${g.round}`)
        .slice(0, 10)
        .join(", ")}); sampling carried on when it returned.`,
    );
  resultsSection(doc, results);
  if (totals) totalsSection(doc, totals);
  trendsSection(doc, results, period);
  figuresSection(doc, rows, containers);
  return {
    failed,
    summary: [
      `burn-in: ${failed ? "FAIL" : "PASS"} — ${rounds} rounds, ${containers.length} ` +
        `containers${p.status === "running" ? " (in progress)" : ""}`,
      ...results
        .filter((r) => r.status !== "PASS")
        .map((r) => `  ${r.container}: ${r.status} — ${r.notes.join("; ")}`.slice(0, 200)),
      ...(totals
        ? [
            `  stack: CPU p99 ${totals.cpuP99.toFixed(2)}/${totals.budgetCpu} cores ${totals.cpuStatus}; RAM max ` +
              `${totals.memMaxGb.toFixed(2)} GB vs ${totals.budgetGbPlan} GB ${totals.memStatusPlan} ` +
              `(${totals.budgetGbTable} GB ${totals.memStatusTable})`,
          ]
        : []),
    ],
  };
}

// ## Commands
async function command(argv: string[]): Promise<number> {
  const [cmd] = argv;
  const sub = cmd && !cmd.startsWith("-") ? cmd : undefined;
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args: sub ? argv.slice(1) : argv,
        allowPositionals: true,
        strict: true,
        options: {
          duration: { type: "string" },
          interval: { type: "string" },
          detach: { type: "boolean" },
          resume: { type: "boolean" },
          prefix: { type: "string", default: "k2-" },
          "offload-period": { type: "string" },
          run: { type: "string" },
          "skip-health": { type: "boolean" },
          from: { type: "string" },
          gate: { type: "boolean" },
          watch: { type: "boolean" },
          help: { type: "boolean" },
          child: { type: "boolean" },
        },
      });
    } catch (e) {
      throw flagError(e, NOTEBOOK);
    }
  })();
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // Render a run; with --watch, go on re-rendering it on every change under lib/ and notebooks/.
  const finish = async (run: RunData<BurnInFetched>) => {
    const { failed } = await render(run);
    if (values.watch) await watchAndRender(burnIn, run.manifest.runId);
    return values.gate && failed ? EXIT.gate : 0;
  };
  if (values.from) return finish(await openRun<BurnInFetched>(NOTEBOOK, values.from));

  if (sub === "status") return status(values.run);
  if (sub === "stop") return stop(values.run);
  if (sub === "import") {
    if (!positionals[0])
      throw usageError("import needs a file: bun notebooks/02-burn-in.ts import /tmp/k2-burn-in.csv");
    return finish(await openRun<BurnInFetched>(NOTEBOOK, await importRun(positionals[0])));
  }
  if (sub && sub !== "start")
    throw usageError(`unknown command ${JSON.stringify(sub)} (expected start, status, stop or import; see --help)`);

  const lab = targetFromEnv().kind === "embedded";
  const durationMs = parseDuration(values.duration ?? (lab ? "60s" : "24h"), "--duration");
  const intervalMs = parseDuration(values.interval ?? (lab ? "5s" : "5m"), "--interval");
  if (intervalMs > durationMs)
    throw usageError(
      `invalid --interval: ${formatDuration(intervalMs)} is longer than --duration ${formatDuration(durationMs)}`,
    );
  const o: StartOptions = {
    durationMs,
    intervalMs,
    prefix: values.prefix!,
    expected: SERVICES.map((s) => s.container),
    lab,
    offloadPeriodMs: parseDuration(
      values["offload-period"] ?? (lab ? "20s" : durationSpec(THRESHOLDS.offloadIntervalMs)),
      "--offload-period",
    ),
  };

  // Without an engine: the main job still gets its report; asked explicitly to sample, it fails.
  const probe = await probeDocker();
  if ("unreachable" in probe) {
    if (sub === "start") await connectDocker(); // throws the one-line error naming DOCKER_HOST
    await render(await openRun<BurnInFetched>(NOTEBOOK, await noEngineRun(probe.unreachable)));
    return 0;
  }
  if (lab) await ensureLabStack(probe, { offloadPeriodMs: o.offloadPeriodMs });
  else {
    if (!(await probe.docker.listContainers({ all: true, filters: { name: [`^/${o.prefix}`] } })).length)
      throw new K2Error(
        `no ${o.prefix}* containers on ${probe.host}: start the K2 stack (docker compose -f docker-compose.v2.yml up ` +
          `-d) or fix --prefix / DOCKER_HOST`,
        EXIT.notFound,
      );
    // The precondition on a stack: a burn-in of an unhealthy stack measures the wrong thing.
    if (!values.resume && !values.child) {
      const h = await requireHealthy(await connectClickHouse(), !!values["skip-health"], loadConfig());
      console.error(`02-burn-in: ${"skipped" in h ? `health precondition skipped (${h.skipped})` : h.summary}`);
    }
  }

  if (values.detach) {
    const pid = detach(["start", "--child", ...argv.slice(sub ? 1 : 0).filter((a) => a !== "--detach")]);
    for (let i = 0; i < 40; i++) {
      await Bun.sleep(250);
      const r = await findRun().catch(() => undefined);
      if (r?.state.pid === pid) {
        console.log(
          `burn-in ${r.state.runId} sampling in the background (pid ${pid}); bun notebooks/02-burn-in.ts status | stop`,
        );
        return 0;
      }
    }
    throw new K2Error(`the detached sampler (pid ${pid}) did not start: see data/02-burn-in/sampler-*.log`, EXIT.data);
  }
  const resume = values.resume ? await findRun(values.run) : undefined;
  const { dir } = await runSampler(probe, o, resume);
  return finish(await openRun<BurnInFetched>(NOTEBOOK, basename(dir)));
}

async function render(run: RunData<BurnInFetched>) {
  const r = await renderRun(burnIn, run, { gate: false });
  const rel = (p: string) => relative(process.cwd(), p);
  console.log(
    [
      ...r.summary,
      `report: ${rel(join(outDir(), `${NOTEBOOK}.html`))}, ${rel(join(outDir(), `${NOTEBOOK}.md`))}; data: ` +
        `${rel(run.dir)}`,
    ].join("\n"),
  );
  return r;
}

async function status(id?: string): Promise<number> {
  const { dir, state } = await findRun(id);
  const rounds = countRounds(join(dir, "samples.csv"));
  const running = state.status === "running" && alive(state.pid);
  const eta = state.startedAt + state.durationMs - Date.now();
  console.log(
    `burn-in ${state.runId}: ` +
      (running
        ? `running (pid ${state.pid})`
        : state.status === "running"
          ? "not running (the sampler died: resume with start --resume)"
          : state.status) +
      `; ${rounds} of ${state.expectedRounds} samples; ${running && eta > 0 ? `ETA ${formatDuration(eta)}` : "no ETA"}`,
  );
  const last = await openRun<BurnInFetched>(NOTEBOOK, state.runId)
    .then((r) =>
      r.query<SampleRow>(
        `SELECT container, state, cpu_cores, mem_bytes, restarts FROM {samples} WHERE round = (SELECT max(round) ` +
          `FROM {samples} WHERE container = '*round-end*') AND container NOT IN ('*round-end*', '*') ORDER BY ` +
          `container`,
      ),
    )
    .catch(() => []);
  for (const r of last)
    console.log(
      `  ${String(r.container).padEnd(26)} ${String(r.state).padEnd(8)} ` +
        (r.cpu_cores === null
          ? ""
          : `${Number(r.cpu_cores).toFixed(3)} cores  ${(Number(r.mem_bytes) / 2 ** 20).toFixed(1)} MB`) +
        (Number(r.restarts) ? `  ${r.restarts} restarts` : ""),
    );
  return 0;
}

async function stop(id?: string): Promise<number> {
  const { dir, state } = await findRun(id);
  if (state.status !== "running" || !alive(state.pid)) {
    console.log(`burn-in ${state.runId} is not running (${state.status})`);
    return 0;
  }
  process.kill(state.pid, "SIGTERM");
  for (let i = 0; i < 120; i++) {
    await Bun.sleep(250);
    const s = JSON.parse(readFileSync(join(dir, "state.json"), "utf8"));
    if (s.status !== "running") {
      console.log(`burn-in ${state.runId} stopped after ${countRounds(join(dir, "samples.csv"))} rounds`);
      return 0;
    }
  }
  throw new K2Error(`burn-in ${state.runId} (pid ${state.pid}) did not stop within 30 s`, EXIT.data);
}

if (import.meta.main) await top(NOTEBOOK, () => command(Bun.argv.slice(2)));
export default burnIn;
