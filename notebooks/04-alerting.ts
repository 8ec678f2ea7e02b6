// # Step 4, part 1: alert rules, their unit tests, the dashboard, and whether the alerts can fire
//
// The seven alerts of FACTS.md from one table, judged by promtool (the stack's own when k2-prometheus has it) with
// generated unit tests; the k2-pipeline dashboard built from typed objects and validated offline; then the audits:
// a live Prometheus (PROMETHEUS_URL) and a platform checkout (--stack-config), each alert's chain alert -> metric ->
// scrape job -> target with the broken link named; --write puts the files into a checkout; the step's acceptance
// criteria as a checklist. Files go to out/04-alerting/.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { liveChains } from "../lib/alerting/audit.ts";
import { checklist } from "../lib/alerting/checklist.ts";
import { auditCheckout, COMPOSE_FILES, type Files } from "../lib/alerting/checkout.ts";
import {
  buildDashboard,
  DATASOURCE,
  DATASOURCE_PROVISIONING,
  validateDashboard,
  validateRules,
} from "../lib/alerting/dashboard.ts";
import { gatherLive } from "../lib/alerting/live.ts";
import {
  checkWord,
  coverageText,
  findPromtool,
  judge,
  notJudged,
  type Promtool,
  testYaml,
} from "../lib/alerting/promtool.ts";
import {
  auditFailures,
  checklistSection,
  checkoutSection,
  dashboardSection,
  liveSection,
  promtoolSection,
  rulesSection,
} from "../lib/alerting/report.ts";
import { ruleYaml } from "../lib/alerting/rules.ts";
import type { AlertingFetched, AlertingResult, LiveAudit, WriteLoads } from "../lib/alerting/summary.ts";
import { type Change, planWrite } from "../lib/alerting/write.ts";
import { probeDocker } from "../lib/io/docker.ts";
import { connectPrometheus, prometheusUrlFromEnv } from "../lib/io/prometheus.ts";
import { EXIT, K2Error, usageError } from "../lib/runtime/errors.ts";
import { writeAtomic } from "../lib/runtime/fsx.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";

type Options = { stackConfig: string | null; write: string | null };

/** A platform checkout, named by a flag: an existing folder holding the compose file. */
const checkoutDir = (help: string) =>
  opt.custom(opt.optionalText(help, "dir"), (v, flag) => {
    if (v === undefined) return null;
    const dir = resolve(v);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw usageError(`invalid ${flag}: ${JSON.stringify(v)} is not a folder (give the platform checkout's root)`);
    if (!COMPOSE_FILES.some((f) => existsSync(join(dir, f))))
      throw usageError(`invalid ${flag}: ${dir} has no ${COMPOSE_FILES[0]} (the platform's root?)`);
    return dir;
  });

const OPTIONS = {
  "stack-config": checkoutDir("audit a platform checkout's files (compose, prometheus.yml, rules, Grafana)"),
  write: checkoutDir("write the rules, their tests and the dashboard into a platform checkout, showing the diff first"),
};

const alerting: Notebook<Options, AlertingFetched, typeof OPTIONS> = {
  name: "04-alerting",
  title: "Step 4: alert rules, their tests, the dashboard, and whether they can fire",
  about: `Writes the seven Phase 7 alerts (FACTS.md) as Prometheus rules from one table, with thresholds from
lib/k2/thresholds.ts; generates promtool unit tests per alert (fires at the earliest evaluation, silent one
evaluation short of for, silent just under the threshold, fires when its metric is gone) and has promtool
judge both (the stack's own in k2-prometheus when it has one, else Debian's); builds the k2-pipeline dashboard
(Grafana 11.5, schemaVersion 40) and validates it offline. Then audits whether each alert can fire: on the
Prometheus at PROMETHEUS_URL (default ${"http://localhost:9090"}, asked only if something answers there when unset;
set and unreachable: exit 3 after the report), and on a platform checkout with --stack-config. --write <checkout>
puts the files into docker/prometheus/rules/ and docker/grafana/dashboards/ with the compose mount and the
datasource uid they need, printing each diff first. Files: out/04-alerting/. With --gate, exits 6 unless every
criterion passes and every audited alert can fire.`,
  options: OPTIONS,
  parse: (v) => ({ stackConfig: v["stack-config"], write: v.write }),

  // ## Fetch: generate, let promtool judge, audit
  async fetch({ options: o, run, log }) {
    const rules = ruleYaml(),
      tests = testYaml();
    const probe = await probeDocker();
    // Without promtool (a fresh machine before `bun run test` installed it) the files are still written.
    const promtool = await findPromtool("unreachable" in probe ? null : probe.docker).catch((e: Error) => e.message);
    if (typeof promtool !== "string") log(`judging with ${promtool.where}`);
    const verdict = typeof promtool === "string" ? notJudged(promtool) : await judge(promtool, rules, tests);
    const dashboard = buildDashboard();
    const files = {
      "k2-alerts.yml": rules,
      "k2-alerts.test.yml": tests,
      "k2-pipeline.json": JSON.stringify(dashboard, null, 2) + "\n",
      "datasource.yml": DATASOURCE_PROVISIONING,
    };
    const findings = validateDashboard(dashboard, [DATASOURCE.uid!]);
    const prom = prometheusUrlFromEnv();
    const live = await liveAudit(prom, log);
    const checkout = o.stackConfig ? { dir: o.stackConfig, ...auditCheckout(checkoutFiles(o.stackConfig)) } : null;
    const write = o.write ? await writeCheckout(o.write, files, promtool, log) : null;
    const result: AlertingResult = {
      files,
      verdict,
      dashboard: findings,
      rules: validateRules(),
      checklist: checklist(
        verdict.cases,
        findings,
        write ? `${write.dir}/docker/grafana/dashboards/k2-pipeline.json` : null,
      ),
      live,
      checkout,
      write,
    };
    await run.saveJson("result", result);
    return {
      parameters: { promtool: verdict.promtool, prometheus: prom.url, stackConfig: o.stackConfig, write: o.write },
      target: { kind: "files", label: "generated rules and dashboard" },
    };
  },

  // ## Render: the checklist, the audits, the rules, promtool's verdict and the dashboard
  async render(doc, run) {
    const r = await run.json<AlertingResult>("result");
    checklistSection(doc, r);
    liveSection(doc, r.live);
    checkoutSection(doc, r);
    rulesSection(doc);
    promtoolSection(doc, r);
    dashboardSection(doc, r);
    const v = r.verdict;
    const cannot = auditFailures(r);
    const unreachable = r.live && "unreachable" in r.live ? r.live.unreachable : null;
    return {
      failed: r.checklist.some((c) => c.status !== "PASS") || cannot.length > 0,
      files: r.files,
      error: unreachable ? new K2Error(unreachable, EXIT.unreachable) : undefined,
      summary: [
        `alerting: promtool ${checkWord(v)} the rules; coverage ${coverageText(v)}`,
        ...r.checklist.map((c) => `  ${c.status.padEnd(10)} ${c.criterion}`),
        ...auditLines(r),
        `  files: out/04-alerting/${r.write ? `; written to ${r.write.dir} (${r.write.changes.length} files)` : ""}`,
      ],
    };
  },
};

/** PROMETHEUS_URL when set (unreachable: recorded, exit 3 after the report); unset, the default only if it answers. */
async function liveAudit(prom: { url: string; explicit: boolean }, log: (m: string) => void): Promise<LiveAudit> {
  try {
    const api = await connectPrometheus(prom.url);
    log(`auditing the Prometheus ${api.version} at ${prom.url}`);
    return await gatherLive(api);
  } catch (e) {
    if (!(e instanceof K2Error) || e.exitCode !== EXIT.unreachable) throw e;
    if (prom.explicit) return { unreachable: e.message };
    return {
      skipped: `no Prometheus answers at ${prom.url} and PROMETHEUS_URL is not set: set it to audit a live one`,
    };
  }
}

function auditLines(result: AlertingResult): string[] {
  const line = (what: string, chains: { status: string }[]) =>
    `  ${what}: ${chains.filter((c) => c.status === "PASS").length}/${chains.length} alerts can fire`;
  const live = result.live;
  return [
    ...(live && "rules" in live ? [line(`live ${live.url}`, liveChains(live))] : []),
    ...(live && "skipped" in live ? [`  live audit NOT RUN: ${live.skipped}`] : []),
    ...(result.checkout ? [line(`checkout ${result.checkout.dir}`, result.checkout.chains)] : []),
  ];
}

/** A checkout read from disk. */
function checkoutFiles(root: string): Files {
  const at = (p: string) => join(root, p);
  return {
    read: (p) => (existsSync(at(p)) && statSync(at(p)).isFile() ? readFileSync(at(p), "utf8") : null),
    list: (d) => (existsSync(at(d)) && statSync(at(d)).isDirectory() ? readdirSync(at(d)).sort() : []),
  };
}

/**
 * --write: plan, print every diff, write each file atomically, check that Prometheus still loads the checkout (else
 * put every file back and stop, naming why), and audit it again.
 */
async function writeCheckout(
  dir: string,
  files: Record<string, string>,
  promtool: Promtool | string,
  log: (m: string) => void,
) {
  const fs = checkoutFiles(dir);
  const compose = auditCheckout(fs).compose;
  if (compose === "none")
    throw usageError(`invalid --write: ${dir} has no docker-compose.v2.yml (the platform's root?)`);
  const changes: Change[] = planWrite(
    fs,
    { rules: files["k2-alerts.yml"]!, tests: files["k2-alerts.test.yml"]!, dashboard: files["k2-pipeline.json"]! },
    compose,
  );
  for (const c of changes) console.log(c.diff);
  for (const c of changes) await writeAtomic(join(dir, c.path), c.after);
  const loads = changes.length ? await checkLoads(dir, promtool) : undefined;
  if (loads && "ok" in loads && !loads.ok) {
    for (const c of changes)
      if (c.before === null) rmSync(join(dir, c.path), { force: true });
      else await writeAtomic(join(dir, c.path), c.before);
    throw new K2Error(
      `--write: Prometheus would not load ${dir} after the change (${loads.promtool}: ` +
        `${loads.output.split("\n").find((l) => /FAILED|error/i.test(l)) ?? loads.output.split("\n")[0]}); ` +
        "every file was put back",
      EXIT.gate,
    );
  }
  log(`wrote ${changes.length} files into ${dir}${loads && "ok" in loads ? ", and Prometheus loads it" : ""}`);
  return { dir, changes, after: auditCheckout(checkoutFiles(dir)), loads };
}

/**
 * promtool over the checkout as the container sees it: check config on docker/prometheus/prometheus.yml with every
 * file of the rules folder it loads (a file there that is not a rule file stops Prometheus), then the rule tests from
 * their own folder.
 */
async function checkLoads(dir: string, promtool: Promtool | string): Promise<WriteLoads> {
  if (typeof promtool === "string") return { notChecked: promtool };
  const prom = join(dir, "docker/prometheus");
  const read = (sub: string) =>
    Object.fromEntries(
      (existsSync(join(prom, sub)) ? readdirSync(join(prom, sub)) : [])
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => [`${sub}/${f}`, readFileSync(join(prom, sub, f), "utf8")]),
    );
  const files = {
    "prometheus.yml": readFileSync(join(prom, "prometheus.yml"), "utf8"),
    ...read("rules"),
    ...read("tests"),
  };
  const config = await promtool.run(files, ["check", "config", "prometheus.yml"]);
  if (!config.ok) return { ok: false, promtool: promtool.where, output: config.output };
  const tests = Object.keys(files).filter((f) => f.startsWith("tests/"));
  const t = tests.length ? await promtool.run(files, ["test", "rules", ...tests]) : { ok: true, output: "" };
  return { ok: t.ok, promtool: promtool.where, output: `${config.output}\n${t.output}`.trim() };
}

if (import.meta.main) await main(alerting);
export default alerting;
