// # The main job: every notebook, then an index
//
// Runs each notebook in notebooks/ in order, each in its own process (one embedded engine
// per process), on whatever target the environment names (the lab by default), and writes
// out/index.html linking the reports with each one's outcome.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, outDir } from "../lib/runtime/paths.ts";
import { Report } from "../lib/report/document.ts";
import { html } from "../lib/report/html.ts";
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

Runs every notebook in notebooks/ (lab first, then the numbered steps) with its defaults,
then writes out/index.html linking the reports. Exits non-zero if any notebook failed.
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

const doc = new Report("K2 Phase 7 hardening reports");
doc.md`Each report is one self-contained HTML file (attach it to the pull request) with a markdown summary beside it.`;
const outcome = (code: number) =>
  html`<span class="badge ${code === 0 ? "pass" : "fail"}">${code === 0 ? "OK" : `exit ${code}`}</span>`;
const rowHtml = (r: (typeof results)[number]) => {
  const links = html`<td><a href="${r.name}.html">${r.title}</a></td><td><a href="${r.name}.md">${r.name}.md</a></td>`;
  const time = html`<td class="right">${r.seconds.toFixed(1)} s</td>`;
  return html`<tr><td>${r.name}</td>${links}<td><code>${r.runId}</code></td><td>${outcome(r.code)}</td>${time}</tr>`;
};
const header = ["Notebook", "Report", "Summary", "Run", "Outcome"].map((h) => html`<th>${h}</th>`);
doc.html(
  html`<div class="table"><table><thead><tr>${header}<th class="right">Time</th></tr></thead><tbody>${results.map(
    rowHtml,
  )}</tbody></table></div>`,
);
await writeAtomic(
  join(outDir(), "index.html"),
  doc.renderHtml({
    subtitle: `generated ${new Date().toISOString().slice(0, 19)}Z`,
    footer: "k2-hardening · bun run all",
  }),
);
console.log(
  `\nall: ${results.map((r) => `${r.name} ${r.code === 0 ? "ok" : `exit ${r.code}`}`).join(", ")}; index: ` +
    `out/index.html`,
);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
