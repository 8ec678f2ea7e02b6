// `bun run test`: the suite in two `bun test` processes at once, each with its own embedded engine. The files that
// use the lab's Docker containers run in one process, one after another (the containers are one set, named as K2's
// are); every other file runs in the other process with DOCKER_HOST pointing at no engine, so that none of them can
// touch those containers (one that needs Docker fails there, naming it, and belongs in DOCKER_FILES). At the end: the
// ten slowest tests, each process's time, and one closing line of passes and failures.
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../lib/runtime/paths.ts";

/** The files whose tests start, stop or read the lab's containers (or run notebooks that do). */
export const DOCKER_FILES = [
  "alerting-audit",
  "burnin",
  "failure",
  "health-notebook",
  "latency",
  "livefire",
  "signoff",
  "stack",
];
const NO_ENGINE = "unix:///nonexistent/k2-tests-without-docker.sock";

if (Bun.argv.includes("--help")) {
  console.log(`usage: bun run test [file filter ...]

Installs the engines the tests need (tests/setup.sh), then runs the suite in two processes at once: the files that use
the lab's Docker containers (${DOCKER_FILES.join(", ")}) in one, all others in the other with no Docker engine.
Filters (as bun test takes them) narrow both. Prints the ten slowest tests and exits 1 if any test failed.`);
  process.exit(0);
}

const filters = Bun.argv.slice(2);
const all = readdirSync(join(ROOT, "tests"))
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => `tests/${f}`)
  .filter((f) => !filters.length || filters.some((x) => f.includes(x)));
const usesDocker = (f: string) => DOCKER_FILES.some((d) => f === `tests/${d}.test.ts`);
const groups = [
  { name: "docker", files: all.filter(usesDocker), env: {} },
  { name: "other", files: all.filter((f) => !usesDocker(f)), env: { DOCKER_HOST: NO_ENGINE } },
].filter((g) => g.files.length);

type Case = { name: string; file: string; seconds: number; failed: boolean };
const dir = await mkdtemp(join(tmpdir(), "k2-tests-run-"));
const t0 = performance.now();
const done = await Promise.all(
  groups.map(async (g) => {
    const report = join(dir, `${g.name}.xml`);
    const start = performance.now();
    const p = Bun.spawn(
      [process.execPath, "test", "--reporter=junit", `--reporter-outfile=${report}`, ...g.files.map((f) => `./${f}`)],
      { cwd: ROOT, env: { ...process.env, ...g.env }, stdout: "inherit", stderr: "inherit" },
    );
    const code = await p.exited;
    const xml = await Bun.file(report)
      .text()
      .catch(() => ""); // a process that died before writing its report: its exit code says so below
    return { ...g, code, seconds: (performance.now() - start) / 1000, cases: parseCases(xml) };
  }),
);
await rm(dir, { recursive: true, force: true });

/** The test cases of a junit report: name, file, time, whether it failed. */
function parseCases(xml: string): Case[] {
  const out: Case[] = [];
  for (const m of xml.matchAll(/<testcase ([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[1]!)?.[1] ?? "";
    out.push({
      name: attr("name").replace(/&quot;/g, '"').replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">"),
      file: attr("file"),
      seconds: Number(attr("time")),
      failed: /<failure/.test(m[3] ?? ""),
    });
  }
  return out;
}

const cases = done.flatMap((g) => g.cases);
console.log("\nthe ten slowest tests:");
for (const c of [...cases].sort((a, b) => b.seconds - a.seconds).slice(0, 10))
  console.log(`  ${c.seconds.toFixed(1).padStart(6)} s  ${c.file}  ${c.name}`);
for (const g of done) console.log(`${g.name}: ${g.files.length} files in ${g.seconds.toFixed(0)} s, exit ${g.code}`);
const failed = cases.filter((c) => c.failed).length;
const crashed = done.filter((g) => g.code !== 0 && !g.cases.some((c) => c.failed));
for (const g of crashed) console.log(`${g.name}: exited ${g.code} with no failed test recorded`);
console.log(`suite: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${cases.length - failed} passed, ${failed} failed`);
process.exit(failed || crashed.length ? 1 : 0);
