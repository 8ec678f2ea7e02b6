// `bun run test`: the suite in lanes at once, each lane one `bun test` process with its own embedded engine. The
// files that use the lab's Docker containers are split between the Docker lanes, and each lane has a Docker engine of
// its own (the lab's containers are one set per engine, named as K2's are): lane one the lab's engine on the default
// socket, each other a private engine that this starts. Every other file runs in a lane of its own with DOCKER_HOST
// pointing at no engine, so that none of them can touch containers (one that needs Docker fails there, naming it, and
// belongs in a Docker lane). At the end: the ten slowest tests, each file's and process's time, and one closing line
// of passes and failures.
import { readdirSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureEngine, LAB_DOCKER_ROOT } from "../lib/io/engine.ts";
import { ROOT } from "../lib/runtime/paths.ts";

/**
 * The files whose tests start, stop or read the lab's containers (or run notebooks that do), by lane: about even by
 * their time alone (measured: failure 361 s; livefire 238, burnin 128, stack 86; latency 198, health-notebook 128,
 * signoff 119, alerting-audit 81). Four lanes keep both cores busy (92% over a 511 s run): fewer left them waiting
 * on the lab's clock (holds, baselines, alert bounds), more only slow each other.
 */
export const DOCKER_LANES = [
  ["failure", "alerting-audit"],
  ["livefire", "burnin", "stack"],
  ["latency", "health-notebook", "signoff"],
];
const NO_ENGINE = "unix:///nonexistent/k2-tests-without-docker.sock";
/** Lane n's engine (n > 0): a private dockerd beside the lab's, with its own socket, data and containerd. */
const engineOf = (n: number) =>
  n === 0 ? null : { host: `unix:///var/run/k2-lab-docker-${n + 1}.sock`, root: `${LAB_DOCKER_ROOT}-${n + 1}` };
if (Bun.argv.includes("--help")) {
  console.log(`usage: bun run test [file filter ...]

Installs the engines the tests need (tests/setup.sh), then runs the suite in lanes at once: the files that use the
lab's Docker containers split between ${DOCKER_LANES.length} Docker engines, by lane:
${DOCKER_LANES.map((l) => `  ${l.join(", ")}`).join("\n")}
and every other file in a lane with no Docker engine in reach. Filters (as bun test takes them) narrow them. Prints
the ten slowest tests and each file's time, and exits 1 if any test failed.`);
  process.exit(0);
}

const filters = Bun.argv.slice(2);
const all = readdirSync(join(ROOT, "tests"))
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => `tests/${f}`)
  .filter((f) => !filters.length || filters.some((x) => f.includes(x)));
const inLane = (lane: string[]) => (f: string) => lane.some((d) => f === `tests/${d}.test.ts`);
const inDocker = (f: string) => DOCKER_LANES.some((l) => inLane(l)(f));

/**
 * `nice`: the lane runs at a lower priority. The files without Docker judge nothing by the clock (renders, counts,
 * parsers), while the Docker lanes' verdicts are timed against the lab's (alert bounds, scrapes answered within their
 * interval, recovery): on two cores shared by four lanes, those go first.
 */
type Group = {
  name: string;
  files: string[];
  env: Record<string, string>;
  nice?: boolean;
  engine?: { host: string; root: string };
};
const groups: Group[] = [
  ...DOCKER_LANES.map((lane, n): Group => {
    const engine = engineOf(n) ?? undefined;
    return {
      name: `docker ${n + 1}`,
      files: all.filter(inLane(lane)),
      env: engine ? { DOCKER_HOST: engine.host } : {},
      engine,
    };
  }),
  { name: "no docker", files: all.filter((f) => !inDocker(f)), env: { DOCKER_HOST: NO_ENGINE }, nice: true },
].filter((g) => g.files.length);
const log = (m: string) => console.error(`tests: ${m}`);
await Promise.all(
  groups.map(async ({ name, engine: e }) => {
    if (!e) return; // the lab's engine: tests/setup.sh started it
    const r = await ensureEngine(log, { DOCKER_HOST: e.host }, e.root, e.host);
    if ("unavailable" in r) log(`${name}'s Docker engine: ${r.unavailable} (its tests will say so)`);
  }),
);

type Case = { name: string; file: string; seconds: number; failed: boolean };
/**
 * Every test's default timeout: tests start engines and containers, on a machine that may be busy. On the command line
 * because nothing else reaches every file: this Bun ignores bunfig's `timeout`, and a preload's setDefaultTimeout
 * holds for the first file of a process only (measured: a 6 s test in the second of two files failed at 5 s).
 */
const TEST_TIMEOUT_MS = 180_000;
const dir = await mkdtemp(join(tmpdir(), "k2-tests-run-"));
await chmod(dir, 0o755);
const t0 = performance.now();
async function run(g: Group) {
  const name = g.name.replace(/\W/g, "-"),
    report = join(dir, `${name}.xml`),
    tmp = join(dir, name);
  // each group's temporary files (its own and chdb's) under the run's directory, which goes at the end
  // traversable by the daemons that drop root (PostgreSQL runs as postgres): mkdtemp's folders are 0700
  await mkdir(tmp, { recursive: true, mode: 0o755 });
  const start = performance.now();
  const p = Bun.spawn(
    [
      "nice", // by 0 for the lanes that are not niced
      "-n",
      g.nice ? "10" : "0",
      process.execPath,
      "test",
      `--timeout=${TEST_TIMEOUT_MS}`,
      "--reporter=junit",
      `--reporter-outfile=${report}`,
      ...g.files.map((f) => `./${f}`),
    ],
    // one lab-stack folder for the lane (lib/runtime/paths.ts labStackDir): its files' lab containers are rebuilt once
    {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: tmp, K2_LAB_STACK_DIR: join(tmp, "lab-stack"), ...g.env },
      stdout: "inherit",
      stderr: "inherit",
    },
  );
  const code = await p.exited;
  const xml = await Bun.file(report)
    .text()
    .catch(() => ""); // a process that died before writing its report: its exit code says so below
  return { ...g, code, seconds: (performance.now() - start) / 1000, cases: parseCases(xml), times: parseFiles(xml) };
}
const done = await Promise.all(groups.map(run));
await rm(dir, { recursive: true, force: true });

/** junit escapes names: printed as written. */
function unxml(s: string) {
  return s
    .replace(/&apos;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The test cases of a junit report: name, file, time, whether it failed. */
function parseCases(xml: string): Case[] {
  const out: Case[] = [];
  for (const m of xml.matchAll(/<testcase ([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[1]!)?.[1] ?? "";
    out.push({
      name: unxml(attr("name")),
      file: attr("file"),
      seconds: Number(attr("time")),
      failed: /<failure/.test(m[3] ?? ""),
    });
  }
  return out;
}

/** Each file's time in a junit report. */
function parseFiles(xml: string): { file: string; seconds: number }[] {
  return [...xml.matchAll(/<testsuite name="([^"]+\.test\.ts)" [^>]*?time="([\d.]+)"/g)].map((m) => ({
    file: m[1]!,
    seconds: Number(m[2]),
  }));
}

const cases = done.flatMap((g) => g.cases);
console.log("\nthe ten slowest tests:");
for (const c of [...cases].sort((a, b) => b.seconds - a.seconds).slice(0, 10))
  console.log(`  ${c.seconds.toFixed(1).padStart(6)} s  ${c.file}  ${c.name}`);
const short = (f: string) => f.replace(/^tests\/|\.test\.ts$/g, "");
for (const g of done)
  console.log(
    `${g.name}: ${g.files.length} files in ${g.seconds.toFixed(0)} s, exit ${g.code} ` +
      `(${g.times.map((t) => `${short(t.file)} ${t.seconds.toFixed(0)} s`).join(", ")})`,
  );
const failed = cases.filter((c) => c.failed).length;
const crashed = done.filter((g) => g.code !== 0 && !g.cases.some((c) => c.failed));
for (const g of crashed) console.log(`${g.name}: exited ${g.code} with no failed test recorded`);
console.log(`suite: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
console.log(`${cases.length - failed} passed, ${failed} failed`);
process.exit(failed || crashed.length ? 1 : 0);
