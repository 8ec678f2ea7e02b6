// # The main job: every notebook, then the PR bundle
//
// Runs each notebook in notebooks/ in order, each in its own process (one embedded engine
// per process), on whatever target the environment names (the lab by default), then writes
// out/index.html, out/pr.md and out/png/ from the runs, and the wall time of each step.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isLab, targetFromEnv } from "../lib/io/clickhouse.ts";
import { connectDocker } from "../lib/io/docker.ts";
import { ENABLE_DOCKER, ensureEngine } from "../lib/io/engine.ts";
import { installPackages, missingLine, needsOf } from "../lib/io/packages.ts";
import { ensureLabStack } from "../lib/lab/stack.ts";
import { bundle } from "../lib/runbooks/bundle-cli.ts";
import { writeAtomic } from "../lib/runtime/fsx.ts";
import { dataDir, ROOT } from "../lib/runtime/paths.ts";
import { listRuns, openRun } from "../lib/runtime/store.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { help: { type: "boolean" }, only: { type: "string" } },
  strict: true,
});
if (values.help) {
  console.log(`usage: bun run all [--only name,name]

Runs every notebook in notebooks/ (lab first, then the numbered steps, the sign-off last) with its
defaults but for the main job's lengths (the lab's replay 20 s, step 1's windows 15 s; 00-health checks
the lab's trades without a replay of its own), the steps that share nothing at once (00, 01, 02 and
04-alerting; then 03 and the live fire), then writes the PR bundle: out/index.html (every step's verdict
and key figure, linked to its report), out/pr.md and out/png/ (as bun run bundle does). Exits non-zero
if any notebook failed.
Run as root on Debian, it first installs what the steps need from Debian's packages and is missing
(bun run setup --check lists them) and, on the lab with no Docker engine answering, starts a private
dockerd (see bun run docker --help); otherwise each step runs what it can and its report says what it
skipped and the command that enables it (sudo bun run setup).`);
  process.exit(0);
}

const names = (await readdir(join(ROOT, "notebooks")))
  .filter((f) => f.endsWith(".ts") && f !== "all.ts")
  .map((f) => f.replace(/\.ts$/, ""))
  .sort((a, b) => (a === "lab" ? -1 : b === "lab" ? 1 : a.localeCompare(b)))
  .filter((n) => !values.only || values.only.split(",").includes(n));

// What the steps start from Debian (lib/io/packages.ts: promtool, prometheus, alertmanager, the font; the Docker engine
// below) is installed before the first step when run as root with apt-get; otherwise each step that needs a missing
// one runs what it can and its report names the command that enables the rest.
const install = await installPackages(needsOf("main"), (m) => console.error(`all: ${m}`));
if (install.missing.length) console.error(`all: ${install.reason}: ${missingLine(install.missing)}`);

// The lab's containers need a Docker engine: on a fresh Debian machine run as root, install and start a private one
// (lib/io/engine.ts); where that cannot be done, every notebook still runs and says what ran without containers.
let labEngine = false;
if (isLab(targetFromEnv())) {
  const engine = await ensureEngine((m) => console.error(`all: ${m}`));
  labEngine = !("unavailable" in engine);
  if ("unavailable" in engine)
    console.error(
      `all: ${engine.unavailable}. The lab runs without containers: the health services check, the burn-in and the ` +
        `container failure tests report SKIPPED or NOT RUN. Enable them with: ${ENABLE_DOCKER}`,
    );
  else if (engine.started) process.env.DOCKER_HOST = engine.host;
}

/**
 * The steps in stages: a stage's steps run at once, stages one after another. 00 (the lab step's trades in its engine,
 * the containers read), 01 (an engine of its own, no containers), 02 (the containers, untouched) and 04-alerting
 * (neither) share nothing. 03 breaks the lab's containers one at a time and
 * the live fire fires its alerts beside it: its faults are the lab's traffic, offload job and a container of its own,
 * and a `docker stop` or `restart` moves no restart count, so neither sees the other's. The drill and the sign-off
 * last, alone. One embedded engine per process: in a stage, each step after the first that opens the lab's engine gets
 * a folder of the lab's own (K2_LAB_ENGINE); every step rebuilds the lab's schema in it first.
 */
const STAGES = [
  ["lab"],
  ["00-health", "01-latency", "02-burn-in", "04-alerting"],
  ["03-failure-modes", "04-live-fire"],
];
const ENGINE = new Set(["lab", "00-health", "01-latency", "03-failure-modes", "04-live-fire", "05-runbooks"]);
const stages = [
  ...STAGES.map((st) => st.filter((n) => names.includes(n))),
  names.filter((n) => !STAGES.flat().includes(n)),
];

/**
 * The main job's own lengths, shorter than a notebook's defaults and still measured: the lab's replay (every trade
 * checked landed) and step 1's windows (750 trades at 1x, 7500 at 10x: p99 from hundreds of trades at least).
 */
const MAIN_ARGS: Record<string, string[]> = { lab: ["--duration", "20s"], "01-latency": ["--duration", "15s"] };

type Result = { name: string; code: number; seconds: number; title: string; runId: string };
const results: Result[] = [];
async function step(name: string, engine?: string): Promise<Result> {
  // The lab step has just replayed the lab's traffic: health checks those trades instead of replaying again.
  const reuse = name === "00-health" && results.some((r) => r.name === "lab" && r.code === 0);
  const args = [...(MAIN_ARGS[name] ?? []), ...(reuse ? ["--lab-replay", "0s"] : [])];
  const t0 = performance.now();
  const code = await Bun.spawn([process.execPath, join(ROOT, "notebooks", `${name}.ts`), ...args], {
    stdout: "inherit",
    stderr: "inherit",
    cwd: ROOT,
    env: engine ? { ...process.env, K2_LAB_ENGINE: engine } : process.env,
  }).exited;
  const runs = await listRuns(name);
  // the title and run id for the summary line only: a run that cannot be opened is named by the step's own report
  const run = runs.length ? await openRun(name, runs.at(-1)!).catch(() => undefined) : undefined;
  const title = run?.manifest.title ?? name;
  return { name, code, seconds: (performance.now() - t0) / 1000, title, runId: run?.manifest.runId ?? "–" };
}
const stepsT0 = performance.now();
// The lab's containers, made once while the lab step (which uses none) runs, and ready before any other stage: steps
// that run at once would race to create the same container. Counted in the steps' time.
const containers = labEngine
  ? (async () => {
      console.error("all: creating any missing lab containers (k2-*, com.k2.lab=true), beside the lab step");
      await ensureLabStack(await connectDocker());
    })()
  : Promise.resolve();
containers.catch(() => {}); // awaited (and thrown) before the next stage; this only keeps it from being unhandled
for (const stage of stages.filter((st) => st.length)) {
  if (stage.join() !== "lab") await containers;
  console.error(`\n== ${stage.join(" + ")} ==`);
  const engines = stage.filter((n) => ENGINE.has(n) && isLab(targetFromEnv()));
  const own = (n: string) => (engines.indexOf(n) > 0 ? `lab-engine-${n}` : undefined);
  results.push(...(await Promise.all(stage.map((n) => step(n, own(n))))));
}

// the PR bundle: out/index.html with every step's verdict and key figure, out/pr.md, out/png/
const outcomes = new Map(results.map((r) => [r.name, { code: r.code, seconds: r.seconds }]));
const made = await bundle(outcomes);
// wall time of the steps (stages overlap steps), and what they would take one after another
const total = (performance.now() - stepsT0) / 1000;
const serial = results.reduce((a, r) => a + r.seconds, 0);
const outcomeText = (r: (typeof results)[number]) =>
  `${r.name} ${r.code === 0 ? "ok" : `exit ${r.code}`} ${r.seconds.toFixed(0)} s`;
console.log(
  `\nall: ${results.map(outcomeText).join(", ")}` +
    `; ${total.toFixed(0)} s of steps (${serial.toFixed(0)} s one after another)\n` +
    `bundle: out/index.html, out/pr.md (${made.prChars} characters` +
    `${made.cut.length ? `; cut ${made.cut.join(", ")}` : ""}), ${made.pngs.length} PNGs in out/png/`,
);
// bun run bench prints these: the main job's wall time per step
await writeAtomic(
  join(dataDir(), "main-job.json"),
  JSON.stringify({ at: new Date().toISOString(), results, total, serial }),
);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
