// `bun run setup`: give this machine what the main job (or the tests, or one notebook) needs from Debian, from the one
// list in lib/io/packages.ts, and start the lab's Docker engine when the user needs one. `--check` only says what is
// missing. `--fresh` is CI's first step (.ci/run): it makes a used machine look new, so that a missing install step
// shows: the engines the project started are stopped, the lab's containers and image removed, every listed package
// the machine image does not ship purged (with what only it pulled in), and the checkout's data/ and out/ removed.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { EXIT } from "../runtime/errors.ts";
import { ROOT } from "../runtime/paths.ts";
import { DEFAULT_DOCKER_HOST, ensureEngine, LAB_DOCKER_ROOT } from "./engine.ts";
import { installPackages, missingFor, missingLine, NEEDS, needsOf, purgeable, type User } from "./packages.ts";

const USERS: User[] = [
  "main",
  "tests",
  "00-health",
  "02-burn-in",
  "03-failure-modes",
  "04-alerting",
  "04-live-fire",
  "05-runbooks",
  "docker",
];
const HELP = `usage: sudo bun run setup [--for main|tests|<notebook>] [--check] | --fresh

Installs, from Debian's packages, what --for needs (default main: the main job, bun run all) and is missing,
then starts the lab's Docker engine when it needs one (as bun run docker does). Needs root and apt-get; without
them it installs nothing, says what is missing and exits 3. --for: ${USERS.join(", ")}.
  --check   only list what --for needs and what is missing (exit 3 if anything is)
  --fresh   CI's first step: stop the engines the project started, remove the lab's containers and image, purge
            every listed package the machine image does not ship (${purgeable().join(", ")}), remove data/, out/`;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    for: { type: "string", default: "main" },
    check: { type: "boolean" },
    fresh: { type: "boolean" },
    help: { type: "boolean" },
  },
  strict: true,
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const user = values.for as User;
if (!USERS.includes(user)) {
  console.error(`setup: error: invalid --for: ${JSON.stringify(values.for)} (one of ${USERS.join(", ")})`);
  process.exit(EXIT.usage);
}
const log = (m: string) => console.error(`setup: ${m}`);

if (values.fresh) await fresh();
else if (values.check) {
  const missing = missingFor(user);
  for (const n of needsOf(user))
    console.log(`${missing.includes(n) ? "missing  " : "installed"} ${NEEDS[n].pkg.padEnd(24)} ${NEEDS[n].why}`);
  process.exit(missing.length ? EXIT.unreachable : 0);
} else {
  const r = await installPackages(needsOf(user), log);
  if (r.missing.length) {
    console.error(`setup: error: ${r.reason}: ${missingLine(r.missing)}`);
    process.exit(EXIT.unreachable);
  }
  if (needsOf(user).includes("dockerd")) {
    const e = await ensureEngine(log);
    if ("unavailable" in e) {
      console.error(`setup: error: ${e.unavailable}`);
      process.exit(EXIT.unreachable);
    }
  }
  console.log(
    `setup: ${user} has everything it needs` +
      (r.installed.length ? ` (installed ${r.installed.map((n) => NEEDS[n].pkg).join(" ")})` : ""),
  );
}

async function fresh() {
  if (process.getuid?.() !== 0) {
    console.error("setup: error: --fresh purges packages and stops engines: run it as root (CI does)");
    process.exit(EXIT.usage);
  }
  await stopProjectEngines();
  const installed = purgeable().filter(
    (p) => Bun.spawnSync(["dpkg", "-s", p], { stdout: "ignore", stderr: "ignore" }).exitCode === 0,
  );
  if (installed.length) {
    // Only what the purge itself leaves orphaned goes with it: packages the image had as orphans stay.
    const orphansBefore = new Set(orphans());
    log(`purging ${installed.join(" ")}`);
    apt(["purge", "-y", "-qq", ...installed]);
    const left = orphans().filter((p) => !orphansBefore.has(p));
    if (left.length) apt(["purge", "-y", "-qq", ...left]);
  }
  // what runs stored and wrote; the folders' .gitkeep is the checkout's own and stays (a fresh clone has it)
  for (const d of ["data", "out"])
    for (const f of existsSync(join(ROOT, d)) ? readdirSync(join(ROOT, d)) : [])
      if (f !== ".gitkeep") rmSync(join(ROOT, d, f), { recursive: true, force: true });
  for (const d of readdirSync(tmpdir()).filter((d) => d.startsWith("k2-")))
    if (!ROOT.startsWith(join(tmpdir(), d))) rmSync(join(tmpdir(), d), { recursive: true, force: true });
  log(
    `this machine now looks new to the project: ${purgeable().join(", ")} absent, no lab image, data/ and out/ empty`,
  );
}

function apt(args: string[]) {
  const p = Bun.spawnSync(["apt-get", ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    stdout: "ignore",
    stderr: "pipe",
  });
  if (p.exitCode !== 0)
    throw new Error(`apt-get ${args.join(" ")} failed: ${p.stderr.toString().trim().split("\n").at(-1)}`);
}

/** Packages apt would autoremove now (installed automatically, needed by nothing). */
function orphans(): string[] {
  const out = Bun.spawnSync(["apt-get", "-s", "autoremove"], { stdout: "pipe", stderr: "ignore" }).stdout.toString();
  return [...out.matchAll(/^Remv (\S+)/gm)].map((m) => m[1]!);
}

/**
 * The lab's containers and image removed from whichever engine answers; the lab's private dockerd (and the daemons
 * the tests start from temporary folders named k2-*) stopped; the private engine's data folder removed.
 */
async function stopProjectEngines() {
  const socket = DEFAULT_DOCKER_HOST.replace(/^unix:\/\//, "");
  if (existsSync(socket)) {
    const { default: Docker } = await import("dockerode");
    const docker = new Docker({ socketPath: socket });
    const up = await docker.ping().then(
      () => true,
      () => false, // no engine answers: nothing to remove from one
    );
    if (up) {
      for (const c of await docker.listContainers({ all: true, filters: { label: ["com.k2.lab=true"] } }))
        await docker.getContainer(c.Id).remove({ force: true });
      for (const i of await docker.listImages())
        if (i.RepoTags?.some((t) => t.startsWith("k2-lab/"))) await docker.getImage(i.Id).remove({ force: true });
    }
  }
  // the daemons' temporary folders: tests/helpers.ts (k2-chs-, k2-pg-) and lib/io/daemon.ts (k2-<name>-)
  const patterns = [`dockerd .*--data-root=${LAB_DOCKER_ROOT}`, `${tmpdir()}/k2-(chs|pg|prometheus|alertmanager)-`];
  for (const p of patterns) Bun.spawnSync(["pkill", "-f", p]);
  for (let i = 0; i < 100 && patterns.some((p) => Bun.spawnSync(["pgrep", "-f", p]).exitCode === 0); i++)
    await Bun.sleep(200);
  for (const p of patterns) Bun.spawnSync(["pkill", "-9", "-f", p]);
  // the lab's engine, and the tests' second one beside it (tests/run.ts)
  for (const d of readdirSync(dirname(LAB_DOCKER_ROOT)).filter((d) => d.startsWith(basename(LAB_DOCKER_ROOT)))) {
    const dir = join(dirname(LAB_DOCKER_ROOT), d);
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A dockerd that was killed leaves its mounts behind (its data root bind-mounted private, each container's network
 * namespace under exec/netns): they are unmounted, deepest first, so that the folder can go (rm: EBUSY otherwise).
 */
function unmountUnder(dir: string) {
  const points = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1] ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) Bun.spawnSync(["umount", "-l", p]);
}
