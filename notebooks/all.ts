// # The main job: every notebook, then the PR bundle
//
// Runs each notebook in notebooks/ in order, each in its own process (one embedded engine
// per process), on whatever target the environment names (the lab by default), then writes
// out/index.html, out/pr.md and out/png/ from the runs, and the wall time of each step.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, dataDir } from "../lib/runtime/paths.ts";
import { bundle } from "../lib/runbooks/bundle-cli.ts";
import { writeAtomic } from "../lib/runtime/fsx.ts";
import { listRuns, openRun } from "../lib/runtime/store.ts";
import { ensureEngine, ENABLE_DOCKER } from "../lib/io/engine.ts";
import { isLab, targetFromEnv } from "../lib/io/clickhouse.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { help: { type: "boolean" }, only: { type: "string" } },
  strict: true,
});
if (values.help) {
  console.log(`usage: bun run all [--only name,name]

Runs every notebook in notebooks/ (lab first, then the numbered steps, the sign-off last) with its
defaults, then writes the PR bundle: out/index.html (every step's verdict and key figure, linked to its
report), out/pr.md and out/png/ (as bun run bundle does). Exits non-zero if any notebook failed.
On the lab, with no Docker engine answering, it first gives the lab one when run as root on
Debian (installs docker.io and busybox-static, starts a private dockerd: see bun run docker
--help); otherwise the notebooks run without containers and say so.`);
  process.exit(0);
}

const names = (await readdir(join(ROOT, "notebooks")))
  .filter((f) => f.endsWith(".ts") && f !== "all.ts")
  .map((f) => f.replace(/\.ts$/, ""))
  .sort((a, b) => (a === "lab" ? -1 : b === "lab" ? 1 : a.localeCompare(b)))
  .filter((n) => !values.only || values.only.split(",").includes(n));

// The lab's containers need a Docker engine: on a fresh Debian machine run as root, install and start a private one
// (lib/io/engine.ts); where that cannot be done, every notebook still runs and says what ran without containers.
if (isLab(targetFromEnv())) {
  const engine = await ensureEngine((m) => console.error(`all: ${m}`));
  if ("unavailable" in engine)
    console.error(
      `all: ${engine.unavailable}. The lab runs without containers: the health services check, the burn-in and the ` +
        `container failure tests report SKIPPED or NOT RUN. Enable them with: ${ENABLE_DOCKER}`,
    );
  else if (engine.started) process.env.DOCKER_HOST = engine.host;
}

const results: { name: string; code: number; seconds: number; title: string; runId: string }[] = [];
for (const name of names) {
  console.error(`\n== ${name} ==`);
  const t0 = performance.now();
  const code = await Bun.spawn([process.execPath, join(ROOT, "notebooks", `${name}.ts`)], {
    stdout: "inherit",
    stderr: "inherit",
    cwd: ROOT,
  }).exited;
  const runs = await listRuns(name);
  const run = runs.length ? await openRun(name, runs.at(-1)!).catch(() => undefined) : undefined;
  results.push({
    name,
    code,
    seconds: (performance.now() - t0) / 1000,
    title: run?.manifest.title ?? name,
    runId: run?.manifest.runId ?? "–",
  });
}

// the PR bundle: out/index.html with every step's verdict and key figure, out/pr.md, out/png/
const outcomes = new Map(results.map((r) => [r.name, { code: r.code, seconds: r.seconds }]));
const made = await bundle(outcomes);
const total = results.reduce((a, r) => a + r.seconds, 0);
const outcomeText = (r: (typeof results)[number]) =>
  `${r.name} ${r.code === 0 ? "ok" : `exit ${r.code}`} ${r.seconds.toFixed(0)} s`;
console.log(
  `\nall: ${results.map(outcomeText).join(", ")}` +
    `; ${total.toFixed(0)} s in all\nbundle: out/index.html, out/pr.md (${made.prChars} characters` +
    `${made.cut.length ? `; cut ${made.cut.join(", ")}` : ""}), ${made.pngs.length} PNGs in out/png/`,
);
// bun run bench prints these: the main job's wall time per step
await writeAtomic(join(dataDir(), "main-job.json"), JSON.stringify({ at: new Date().toISOString(), results, total }));
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
