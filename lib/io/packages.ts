// What this machine needs from Debian, declared once: every package the project's code or tests start a binary of,
// which notebooks, tests and subcommands need it, and the file that shows it is installed. The main job, the
// notebooks' skip messages, `bun run setup` and tests/setup.sh all read this list, and tests/packages.test.ts fails
// when code starts a binary that is not declared here. Installing needs root and apt-get; without them nothing is
// installed, and each report says what it skipped and names the one command that enables it: `sudo bun run setup`.
import { existsSync } from "node:fs";

/** Who needs a package: the main job (`bun run all`), the tests, or one notebook or subcommand run alone. */
export type User =
  | "main"
  | "tests"
  | "00-health"
  | "02-burn-in"
  | "03-failure-modes"
  | "04-alerting"
  | "04-live-fire"
  | "05-runbooks"
  | "docker";

export type Need = {
  /** Debian's package name */
  pkg: string;
  /** the files that show it is there; the first is the one the code starts */
  files: readonly string[];
  why: string;
  users: readonly User[];
  /** shipped by this project's machine image (the `node` kind: Debian 12 with Node, npm and these): never purged */
  imageShips?: true;
};

const CONTAINERS: User[] = [
  "main",
  "tests",
  "00-health",
  "02-burn-in",
  "03-failure-modes",
  "04-live-fire",
  "05-runbooks",
];

export const NEEDS = {
  dockerd: {
    pkg: "docker.io",
    files: ["/usr/sbin/dockerd", "/usr/bin/docker"],
    why: "the Docker engine for the lab's 13 containers (and the docker CLI the runbook drill types)",
    users: [...CONTAINERS, "docker"],
  },
  busybox: {
    pkg: "busybox-static",
    files: ["/bin/busybox"],
    why: "the lab's container image, built offline with docker import",
    users: [...CONTAINERS, "docker"],
  },
  prometheus: {
    pkg: "prometheus",
    files: ["/usr/bin/prometheus", "/usr/bin/promtool"],
    why: "promtool judges step 4's rules and their unit tests; a real Prometheus scrapes the live fire",
    users: ["main", "tests", "04-alerting", "04-live-fire"],
  },
  alertmanager: {
    pkg: "prometheus-alertmanager",
    files: ["/usr/bin/prometheus-alertmanager"],
    why: "the live fire's alerts are routed through a real Alertmanager to its webhook",
    users: ["main", "tests", "04-live-fire"],
  },
  font: {
    pkg: "fonts-dejavu-core",
    files: ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"],
    why: "the text of the figures rendered to PNG for the PR bundle",
    users: ["main", "tests"],
    imageShips: true,
  },
  postgres: {
    pkg: "postgresql",
    files: [
      "/usr/lib/postgresql/15/bin/postgres",
      "/usr/lib/postgresql/15/bin/initdb",
      "/usr/lib/postgresql/15/bin/pg_ctl",
    ],
    why: "the Prefect DB's offload_watermarks: the lab's offload writes its own, as K2's does; read with Bun's client",
    users: ["main", "tests", "03-failure-modes", "04-live-fire"],
    imageShips: true,
  },
  clickhouseServer: {
    pkg: "clickhouse-server",
    files: ["/usr/sbin/clickhouse-server"],
    why: "a ClickHouse server over HTTP: login, databases, discovery",
    users: ["tests"],
  },
  chromium: {
    pkg: "chromium",
    files: ["/usr/bin/chromium"],
    why: "every report opened headless, as a reviewer opens it",
    users: ["tests"],
  },
} as const satisfies Record<string, Need>;

export type NeedName = keyof typeof NEEDS;

/**
 * Commands from Debian's base system (essential packages, and procps and util-linux as every Debian image has them):
 * started by name, never installed or purged by us.
 */
export const BASE_COMMANDS = [
  "sh",
  "bash",
  "tar",
  "mkfifo",
  "setsid",
  "nice",
  "chown",
  "runuser",
  "pgrep",
  "pkill",
  "umount",
  "apt-get",
  "dpkg",
];

/** The binary a need's code starts (its first file): `bin("promtool")` is never a path typed twice. */
export function bin(name: NeedName | "promtool" | "docker" | "initdb" | "pg_ctl"): string {
  const alias = { promtool: NEEDS.prometheus.files[1], docker: NEEDS.dockerd.files[1] } as Record<string, string>;
  const pg = { initdb: NEEDS.postgres.files[1], pg_ctl: NEEDS.postgres.files[2] } as Record<string, string>;
  return alias[name] ?? pg[name] ?? NEEDS[name as NeedName].files[0];
}

/** The one command that installs everything the main job (or a notebook run alone) needs. */
const SETUP_COMMAND = "sudo bun run setup";

const installed = (need: Need) => need.files.every((f) => existsSync(f));
export const needsOf = (user: User): NeedName[] =>
  (Object.keys(NEEDS) as NeedName[]).filter((k) => (NEEDS[k].users as readonly User[]).includes(user));
export const missingFor = (user: User): NeedName[] => needsOf(user).filter((k) => !installed(NEEDS[k]));
export const isInstalled = (name: NeedName): boolean => installed(NEEDS[name]);

/** One line for a report or an error: what is missing, for what, and the command that installs it. */
export function missingLine(names: NeedName[]): string {
  const pkgs = names.map((n) => NEEDS[n].pkg).join(" ");
  const why = names.map((n) => NEEDS[n].why).join("; ");
  return `Debian's ${pkgs} missing (${why}): ${SETUP_COMMAND} (or apt-get install -y ${pkgs})`;
}

export type Install = { installed: NeedName[]; missing: NeedName[]; reason?: string };

/**
 * Install the missing packages `names` when run as root with apt-get (one `apt-get update`, then one install);
 * otherwise install nothing and say why. Never fails: what is still missing comes back with the reason.
 */
export async function installPackages(names: NeedName[], log: (m: string) => void = () => {}): Promise<Install> {
  const missing = names.filter((n) => !isInstalled(n));
  if (!missing.length) return { installed: [], missing: [] };
  const pkgs = missing.map((n) => NEEDS[n].pkg);
  if (process.getuid?.() !== 0) return { installed: [], missing, reason: "installing needs root" };
  if (!existsSync("/usr/bin/apt-get")) return { installed: [], missing, reason: "no apt-get on this machine" };
  log(`installing ${pkgs.join(" ")} from Debian's packages (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const apt = async (args: string[]) => {
    const p = Bun.spawn(["apt-get", ...args], { env, stdout: "ignore", stderr: "pipe", stdin: "ignore" });
    const code = await p.exited;
    return { code, err: (await new Response(p.stderr).text()).trim().split("\n").at(-1) ?? "" };
  };
  const update = await apt(["update", "-qq"]);
  if (update.code !== 0) log(`apt-get update failed (${update.err}); installing from the lists there are`);
  const r = await apt(["install", "-y", "-qq", "--no-install-recommends", ...pkgs]);
  const done = missing.filter((n) => isInstalled(n));
  const still = missing.filter((n) => !isInstalled(n));
  return { installed: done, missing: still, reason: still.length ? `apt-get install failed: ${r.err}` : undefined };
}

/** The packages a CI run purges to look like a new machine: every listed one that the machine image does not ship. */
export const purgeable = (): string[] =>
  Object.values(NEEDS as Record<string, Need>)
    .filter((n) => !n.imageShips)
    .map((n) => n.pkg);
