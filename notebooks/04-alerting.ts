// # Step 4, part 1: alert rules, their unit tests and the dashboard
//
// The seven alerts of FACTS.md from one table, judged by promtool with generated unit tests;
// the k2-pipeline dashboard built from typed objects and validated offline; the step's
// acceptance criteria as a checklist. Files go to out/04-alerting/.
import { join } from "node:path";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import { writeAtomic } from "../lib/runtime/fsx.ts";
import { outDir } from "../lib/runtime/paths.ts";
import { ALERTS, expressionOf, ruleYaml } from "../lib/alerting/rules.ts";
import {
  findPromtool,
  judge,
  notJudged,
  testYaml,
  coverageText,
  checkWord,
  NOT_RUN,
  CASES,
} from "../lib/alerting/promtool.ts";
import {
  buildDashboard,
  validateDashboard,
  validateRules,
  DATASOURCE,
  DATASOURCE_PROVISIONING,
} from "../lib/alerting/dashboard.ts";
import { checklist } from "../lib/alerting/checklist.ts";
import { COMPONENTS } from "../lib/alerting/catalog.ts";
import type { AlertingFetched, AlertingResult } from "../lib/alerting/summary.ts";
import { durationSpec } from "../lib/runtime/units.ts";

type Options = Record<string, never>;

const alerting: Notebook<Options, AlertingFetched> = {
  name: "04-alerting",
  title: "Step 4: alert rules, their tests and the dashboard",
  about: `Writes the seven Phase 7 alerts (FACTS.md) as Prometheus rules from one table, with thresholds from
lib/k2/thresholds.ts; generates promtool unit tests per alert (fires at the earliest evaluation, silent one
evaluation short of for, silent just under the threshold, fires when its metric is gone) and has promtool
judge both; builds the k2-pipeline dashboard (Grafana 11.5, schemaVersion 40) and validates it offline;
judges the step's acceptance criteria. Files: out/04-alerting/ (k2-alerts.yml, k2-alerts.test.yml,
k2-pipeline.json, datasource.yml). With --gate, exits 6 unless every criterion passes.`,
  options: {},
  parse: () => ({}),

  // ## Fetch: generate, and let promtool judge
  async fetch({ run, log }) {
    const rules = ruleYaml(),
      tests = testYaml();
    // Without promtool (a fresh machine before `bun run test` installed it) the files are still written.
    const promtool = await findPromtool().catch((e: Error) => e.message);
    if (typeof promtool !== "string") log(`judging with ${promtool.where}`);
    const verdict = typeof promtool === "string" ? notJudged(promtool) : await judge(promtool, rules, tests);
    const dashboard = buildDashboard();
    const findings = validateDashboard(dashboard, [DATASOURCE.uid!]);
    const result: AlertingResult = {
      files: {
        "k2-alerts.yml": rules,
        "k2-alerts.test.yml": tests,
        "k2-pipeline.json": JSON.stringify(dashboard, null, 2) + "\n",
        "datasource.yml": DATASOURCE_PROVISIONING,
      },
      verdict,
      dashboard: findings,
      rules: validateRules(),
      checklist: checklist(verdict.cases, findings, null),
    };
    await run.saveJson("result", result);
    return {
      parameters: { promtool: verdict.promtool },
      target: { kind: "files", label: "generated rules and dashboard" },
    };
  },

  // ## Render: the rules, promtool's verdict, the dashboard and the checklist
  async render(doc, run) {
    const r = await run.json<AlertingResult>("result");
    const dir = join(outDir(), "04-alerting");
    for (const [name, text] of Object.entries(r.files)) await writeAtomic(join(dir, name), text);

    doc.md`## Checklist`;
    doc.table(
      r.checklist,
      [
        { key: "criterion", label: "Acceptance criterion" },
        { key: "status", label: "Status" },
        { key: "evidence", label: "Evidence" },
      ],
      { caption: "Step 4's acceptance criteria", summary: true },
    );

    doc.md`## Rules`;
    doc.table(
      ALERTS.map((a) => ({
        alert: a.name,
        severity: a.severity,
        watches: a.watches,
        expr: expressionOf(a),
        for: durationSpec(a.forMs),
        from: `${a.component} (job ${COMPONENTS[a.component].job})`,
      })),
      [
        { key: "alert", label: "Alert" },
        { key: "severity", label: "Severity" },
        { key: "watches", label: "Watches" },
        { key: "expr", label: "Expression" },
        { key: "for", label: "for" },
        { key: "from", label: "Metrics from" },
      ],
      { caption: "out/04-alerting/k2-alerts.yml", summary: true },
    );
    doc.table(
      Object.values(COMPONENTS).filter((c) => c.fix),
      [
        { key: "id", label: "Component" },
        { key: "today", label: "K2 today" },
        { key: "fix", label: "Needed for the rules to fire" },
      ],
      { caption: "What each rule's metrics need on a K2 stack (FACTS.md)" },
    );

    const v = r.verdict;
    doc.md`## promtool`;
    if (v.check.output === NOT_RUN)
      doc.note("NOT RUN", `${v.promtool}: the rules and tests were written but not judged.`);
    else
      doc.note(v.check.ok ? "PASS" : "FAIL", `${v.promtool}: check rules: ${v.check.output.split("\n").slice(-1)[0]}`);
    doc.fact("Coverage (alerts with a firing and a silent case, all passing)", coverageText(v));
    doc.table(
      ALERTS.map((a) => ({
        alert: a.name,
        ...Object.fromEntries(
          CASES.map((c) => [c, v.cases.find((x) => x.alert === a.name && x.case === c)?.status ?? "NOT RUN"]),
        ),
      })),
      [{ key: "alert", label: "Alert" }, ...CASES.map((c) => ({ key: c as "alert", label: c }))],
      { caption: "promtool test rules, per alert and case", summary: true },
    );
    if (v.output && !/SUCCESS\s*$/.test(v.output)) doc.md`\`\`\`\n${v.output}\n\`\`\``;

    doc.md`## Dashboard`;
    const issues = [...r.dashboard, ...r.rules];
    doc.note(
      issues.length ? "FAIL" : "PASS",
      issues.length
        ? issues.map((f) => `${f.panel}: ${f.problem}`).join("; ")
        : "k2-pipeline.json: panel ids unique, grid without overlaps, datasource uid provisioned by datasource.yml, " +
            "variables declared, every expression parsed and every metric in the catalog",
    );
    const failed = r.checklist.some((c) => c.status !== "PASS");
    return {
      failed,
      summary: [
        `alerting: promtool ${checkWord(v)} the rules; coverage ${coverageText(v)}`,
        ...r.checklist.map((c) => `  ${c.status.padEnd(10)} ${c.criterion}`),
        `  files: out/04-alerting/`,
      ],
    };
  },
};

if (import.meta.main) await main(alerting);
export default alerting;
