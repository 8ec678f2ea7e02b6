// The alerting report's parts, from a stored run: the checklist, the rules with what their metrics
// need on K2, promtool's verdict per alert and case, and the dashboard's validation.
import type { Report } from "../report/document.ts";
import { durationSpec } from "../runtime/units.ts";
import { ALERTS, expressionOf } from "./rules.ts";
import { COMPONENTS } from "./catalog.ts";
import { CASES, NOT_RUN, coverageText } from "./promtool.ts";
import type { AlertingResult } from "./summary.ts";

/** Step 4's acceptance criteria. */
export function checklistSection(doc: Report, r: AlertingResult) {
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
}

/** The rule table as written, and what each component must expose for its rules to fire. */
export function rulesSection(doc: Report) {
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
}

/** promtool's check, its unit tests per alert and case, and the coverage. */
export function promtoolSection(doc: Report, r: AlertingResult) {
  const v = r.verdict;
  doc.md`## promtool`;
  if (v.check.output === NOT_RUN)
    doc.note("NOT RUN", `${v.promtool}: the rules and tests were written but not judged.`);
  else doc.note(v.check.ok ? "PASS" : "FAIL", `${v.promtool}: check rules: ${v.check.output.split("\n").slice(-1)[0]}`);
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
}

/** The dashboard and rule expressions, validated offline. */
export function dashboardSection(doc: Report, r: AlertingResult) {
  doc.md`## Dashboard`;
  const issues = [...r.dashboard, ...r.rules];
  doc.note(
    issues.length ? "FAIL" : "PASS",
    issues.length
      ? issues.map((f) => `${f.panel}: ${f.problem}`).join("; ")
      : "k2-pipeline.json: panel ids unique, grid without overlaps, datasource uid provisioned by datasource.yml, " +
          "variables declared, every expression parsed and every metric in the catalog",
  );
}
