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

import { basename, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { detachSampler, readyStack, samplerStatus, startOptions, stopSampler } from "../lib/burnin/lifecycle.ts";
import { figuresSection, resultsSection, totalsSection, trendsSection } from "../lib/burnin/report.ts";
import { findRun, importRun, NOTEBOOK, noEngineRun, runSampler } from "../lib/burnin/run.ts";
import { analyseBurnIn, type BurnInFetched } from "../lib/burnin/summary.ts";
import { isLab, targetFromEnv } from "../lib/io/clickhouse.ts";
import { connectDocker, probeDocker } from "../lib/io/docker.ts";
import { ensureLabStack } from "../lib/lab/stack.ts";
import type { Report } from "../lib/report/document.ts";
import { EXIT, usageError } from "../lib/runtime/errors.ts";
import { flagError, type Notebook, renderRun, top, watchAndRender } from "../lib/runtime/notebook.ts";
import { outDir } from "../lib/runtime/paths.ts";
import { openRun, type RunData } from "../lib/runtime/store.ts";

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
/** The subcommand (start, status, stop, import or none) and its flags. */
function parseCommand(argv: string[]) {
  const [cmd] = argv;
  const sub = cmd && !cmd.startsWith("-") ? cmd : undefined;
  try {
    return {
      sub,
      ...parseArgs({
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
      }),
    };
  } catch (e) {
    throw flagError(e, NOTEBOOK);
  }
}

async function command(argv: string[]): Promise<number> {
  const { sub, values, positionals } = parseCommand(argv);
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

  if (sub === "status") {
    console.log((await samplerStatus(values.run)).join("\n"));
    return 0;
  }
  if (sub === "stop") {
    console.log(await stopSampler(values.run));
    return 0;
  }
  if (sub === "import") {
    if (!positionals[0])
      throw usageError("import needs a file: bun notebooks/02-burn-in.ts import /tmp/k2-burn-in.csv");
    return finish(await openRun<BurnInFetched>(NOTEBOOK, await importRun(positionals[0])));
  }
  if (sub && sub !== "start")
    throw usageError(`unknown command ${JSON.stringify(sub)} (expected start, status, stop or import; see --help)`);

  const o = startOptions(values, isLab(targetFromEnv()));
  // Without an engine: the main job still gets its report; asked explicitly to sample, it fails.
  const probe = await probeDocker();
  if ("unreachable" in probe) {
    if (sub === "start") await connectDocker(); // throws the one-line error naming DOCKER_HOST
    await render(await openRun<BurnInFetched>(NOTEBOOK, await noEngineRun(probe.unreachable)));
    return 0;
  }
  const checkHealth = !values.resume && !values.child;
  if (o.lab) await ensureLabStack(probe, { offloadPeriodMs: o.offloadPeriodMs });
  else for (const line of await readyStack(probe, o, checkHealth, !!values["skip-health"])) console.error(line);
  if (values.detach) {
    console.log(await detachSampler(argv.slice(sub ? 1 : 0)));
    return 0;
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

if (import.meta.main) await top(NOTEBOOK, () => command(Bun.argv.slice(2)));
export default burnIn;
