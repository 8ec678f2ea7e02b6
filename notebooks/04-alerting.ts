// # Step 4, part 1: alert rules, their unit tests and the dashboard
//
// The seven alerts of FACTS.md from one table, judged by promtool with generated unit tests;
// the k2-pipeline dashboard built from typed objects and validated offline; the step's
// acceptance criteria as a checklist. Files go to out/04-alerting/.
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import { ruleYaml } from "../lib/alerting/rules.ts";
import { findPromtool, judge, notJudged, testYaml, coverageText, checkWord } from "../lib/alerting/promtool.ts";
import {
  buildDashboard,
  validateDashboard,
  validateRules,
  DATASOURCE,
  DATASOURCE_PROVISIONING,
} from "../lib/alerting/dashboard.ts";
import { checklist } from "../lib/alerting/checklist.ts";
import { checklistSection, rulesSection, promtoolSection, dashboardSection } from "../lib/alerting/report.ts";
import type { AlertingFetched, AlertingResult } from "../lib/alerting/summary.ts";

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

    checklistSection(doc, r);
    rulesSection(doc);
    promtoolSection(doc, r);
    dashboardSection(doc, r);
    const v = r.verdict;
    return {
      failed: r.checklist.some((c) => c.status !== "PASS"),
      files: r.files,
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
