// promtool as the judge: `check rules` on the generated file, and `test rules` on unit tests
// generated per alert: firing at the earliest evaluation it should, silent one evaluation
// short of `for`, silent just under the threshold, and firing when its metric disappears.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { stringify } from "yaml";
import { execIn } from "../io/docker.ts";
import { bin, isInstalled, missingLine } from "../io/packages.ts";
import { PROMETHEUS } from "../k2/stack.ts";
import { EXIT, K2Error } from "../runtime/errors.ts";
import { durationSpec } from "../runtime/units.ts";
import { ALERTS, type Alert, ruleAnnotations, ruleLabels, ruleYaml } from "./rules.ts";

// promtool evaluates as K2's Prometheus does.
const EVAL_S = PROMETHEUS.evalMs / 1000;
export type Case = "fires" | "short of for" | "under threshold" | "metric gone";
export type CaseResult = { alert: string; case: Case; status: "PASS" | "FAIL" | "NOT RUN"; detail: string };

const at = (s: number) => durationSpec(s * 1000);
const expected = (alert: Alert, extra: Record<string, string>) => [
  { exp_labels: { ...ruleLabels(alert), ...extra }, exp_annotations: ruleAnnotations(alert) },
];

/** The unit-test groups for one alert, each named "<alert>: <case>" so that a failure names both. */
function testGroups(alert: Alert) {
  const fireS = alert.tests.trueFromS + alert.forMs / 1000;
  const group = (name: Case, input: Alert["tests"]["firing"], evals: [number, unknown[]][]) => ({
    name: `${alert.name}: ${name}`,
    interval: `${EVAL_S}s`,
    input_series: input,
    alert_rule_test: evals.map(([s, exp_alerts]) => ({ eval_time: at(s), alertname: alert.name, exp_alerts })),
  });
  // The metric never scraped: only an unrelated series exists.
  const gone = [{ series: 'unrelated_metric{job="x"}', values: "1x60" }];
  return [
    group("fires", alert.tests.firing, [[fireS, expected(alert, alert.tests.firingLabels)]]),
    group("short of for", alert.tests.firing, [[fireS - EVAL_S, []]]),
    group("under threshold", alert.tests.silent, [[fireS + 120, []]]),
    group("metric gone", gone, [[alert.forMs / 1000 + EVAL_S, expected(alert, {})]]),
  ];
}

export const CASES: Case[] = ["fires", "short of for", "under threshold", "metric gone"];

export function testYaml(alerts: Alert[] = ALERTS, rulesFile = "k2-alerts.yml"): string {
  return stringify(
    { rule_files: [rulesFile], evaluation_interval: `${EVAL_S}s`, tests: alerts.flatMap(testGroups) },
    { lineWidth: 0 },
  );
}

type Run = { ok: boolean; output: string };
/** A promtool: where it is, its version, and a way to run it on files in a scratch folder. */
export type Promtool = {
  version: string;
  where: string;
  run(files: Record<string, string>, args: string[]): Promise<Run>;
};

/**
 * The stack's own promtool (`docker exec k2-prometheus promtool`, 3.x on K2) when that container runs and has it;
 * else Debian's (the `prometheus` package, 2.42). PromQL changed in 3.x: the report says which judged.
 */
export async function findPromtool(docker?: Docker | null): Promise<Promtool> {
  // no k2-prometheus, or no promtool in it: Debian's judges, and the report says which did
  const stack = docker ? await stackPromtool(docker).catch(() => null) : null;
  if (stack) return stack;
  if (!isInstalled("prometheus")) throw new K2Error(`promtool not found: ${missingLine(["prometheus"])}`, EXIT.usage);
  const path = bin("promtool");
  const out = Bun.spawnSync([bin("promtool"), "--version"]);
  const version = /version (\S+)/.exec(out.stdout.toString() + out.stderr.toString())?.[1] ?? "unknown";
  return {
    version,
    where: `Debian's promtool ${version} (${path})`,
    async run(files, args) {
      const dir = await mkdtemp(join(tmpdir(), "k2-promtool-"));
      try {
        for (const [name, text] of Object.entries(files)) await Bun.write(join(dir, name), text);
        const r = Bun.spawnSync([bin("promtool"), ...args], { cwd: dir });
        return { ok: r.exitCode === 0, output: (r.stdout.toString() + r.stderr.toString()).trim() };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** promtool inside k2-prometheus: the files go in as a tar into a scratch folder there, removed after. */
async function stackPromtool(docker: Docker): Promise<Promtool | null> {
  const c = docker.getContainer("k2-prometheus");
  if (!(await c.inspect()).State.Running) return null;
  const v = await execIn(c, ["promtool", "--version"]);
  if (v.exitCode !== 0) return null;
  const version = /version (\S+)/.exec(v.output)?.[1] ?? "unknown";
  return {
    version,
    where: `the stack's promtool ${version} (docker exec k2-prometheus promtool)`,
    async run(files, args) {
      const dir = `/tmp/k2-promtool-${process.pid}-${Date.now()}`;
      await execIn(c, ["mkdir", "-p", dir]);
      try {
        await c.putArchive(await tarOf(files), { path: dir });
        const r = await execIn(c, ["promtool", ...args], dir);
        return { ok: r.exitCode === 0, output: r.output };
      } finally {
        await execIn(c, ["rm", "-rf", dir]);
      }
    },
  };
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), "k2-promtool-tar-"));
  try {
    for (const [name, text] of Object.entries(files)) await Bun.write(join(dir, name), text);
    const p = Bun.spawn(["tar", "-C", dir, "-cf", "-", ...Object.keys(files)], { stdout: "pipe" });
    return Buffer.from(await new Response(p.stdout).arrayBuffer());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The output recorded for a promtool step that did not run. */
export const NOT_RUN = "not run";

export type PromtoolVerdict = {
  promtool: string;
  check: { ok: boolean; output: string };
  cases: CaseResult[];
  output: string;
  coverage: { covered: string[]; missing: string[] };
};

/** Run check and test on the generated files in a scratch folder; promtool's own words are kept verbatim. */
export async function judge(
  tool: Promtool,
  rules = ruleYaml(),
  tests = testYaml(),
  alerts: Alert[] = ALERTS,
): Promise<PromtoolVerdict> {
  const files = { "k2-alerts.yml": rules, "k2-alerts.test.yml": tests };
  const check = await tool.run(files, ["check", "rules", "k2-alerts.yml"]);
  const test = check.ok
    ? await tool.run(files, ["test", "rules", "k2-alerts.test.yml"])
    : { ok: false, output: NOT_RUN };
  const cases = casesFrom(test, alerts);
  return { promtool: tool.where, check, cases, output: test.output, coverage: coverageOf(cases, alerts) };
}

/**
 * promtool names a failing group in its output, e.g.
 *   FAILED:
 *       name: FeedHandlerDown: fires,
 *       alertname: FeedHandlerDown, time: 2m30s,
 * so each case fails when its group's name appears after FAILED, and passes otherwise.
 */
function casesFrom(test: { ok: boolean; output: string }, alerts: Alert[]): CaseResult[] {
  const failedPart = test.output.slice(Math.max(0, test.output.indexOf("FAILED")));
  return alerts.flatMap((a) =>
    CASES.map((c): CaseResult => {
      const name = `${a.name}: ${c}`;
      const failed = !test.ok && (failedPart.includes(`name: ${name},`) || test.output === NOT_RUN);
      const why = failed ? (test.output === NOT_RUN ? "rules rejected" : "promtool: see output") : "as expected";
      return { alert: a.name, case: c, status: failed ? "FAIL" : "PASS", detail: why };
    }),
  );
}

/** The verdict when no promtool is installed: the files are still written, nothing is judged. */
export function notJudged(why: string, alerts: Alert[] = ALERTS): PromtoolVerdict {
  const cases = alerts.flatMap((a) =>
    CASES.map((c): CaseResult => ({ alert: a.name, case: c, status: "NOT RUN", detail: why })),
  );
  return {
    promtool: why,
    check: { ok: false, output: NOT_RUN },
    cases,
    output: "",
    coverage: coverageOf(cases, alerts),
  };
}

/** What promtool made of the rules, for one line of a summary. */
export const checkWord = (verdict: PromtoolVerdict) =>
  verdict.check.output === NOT_RUN ? "did not run on" : verdict.check.ok ? "accepts" : "rejects";

/** "covered/all", e.g. 7/7. */
export const coverageText = (verdict: PromtoolVerdict) =>
  `${verdict.coverage.covered.length}/${verdict.coverage.covered.length + verdict.coverage.missing.length}`;

/** An alert is covered when its firing and its silent cases all passed; promtool has no such figure. */
function coverageOf(cases: CaseResult[], alerts: Alert[]) {
  const ok = (rule: Alert) =>
    CASES.every((c) => cases.some((x) => x.alert === rule.name && x.case === c && x.status === "PASS"));
  return { covered: alerts.filter(ok).map((a) => a.name), missing: alerts.filter((a) => !ok(a)).map((a) => a.name) };
}
