// The alerting report's parts, from a stored run: the checklist, the rules with what their metrics
// need on K2, promtool's verdict per alert and case, and the dashboard's validation.
import type { Report } from "../report/document.ts";
import { durationSpec } from "../runtime/units.ts";
import { type AuditFinding, type ChainRow, liveChains, stackRuleFindings } from "./audit.ts";
import { COMPONENTS } from "./catalog.ts";
import { CASES, coverageText, NOT_RUN } from "./promtool.ts";
import { ALERTS, expressionOf } from "./rules.ts";
import type { AlertingResult, LiveAudit } from "./summary.ts";

/** Step 4's acceptance criteria. */
export function checklistSection(doc: Report, result: AlertingResult) {
  doc.md`## Checklist`;
  doc.table(
    result.checklist,
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
      { key: "expr", label: "Expression", code: true },
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
export function promtoolSection(doc: Report, result: AlertingResult) {
  const v = result.verdict;
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
export function dashboardSection(doc: Report, result: AlertingResult) {
  doc.md`## Dashboard`;
  const issues = [...result.dashboard, ...result.rules];
  doc.note(
    issues.length ? "FAIL" : "PASS",
    issues.length
      ? issues.map((f) => `${f.panel}: ${f.problem}`).join("; ")
      : "k2-pipeline.json: panel ids unique, grid without overlaps, datasource uid provisioned by datasource.yml, " +
          "variables declared, every expression parsed and every metric in the catalog",
  );
  doc.note(
    "INFO",
    `The step 4 spec's feed-handler panels name ${SPEC_ONLY_METRICS.join(", ")}: nothing exposes them (the Kotlin ` +
      "handlers have no metrics endpoint; their counters are only logged). k2-pipeline.json shows each exchange's " +
      "flow from Redpanda's redpanda_kafka_records_produced_total and the exporter's k2_trades_* instead.",
  );
}

/** Metrics the step 4 spec names that no K2 component exposes (FACTS.md: "What the platform exposes"). */
const SPEC_ONLY_METRICS = [
  "feed_handler_trades_produced_total",
  "feed_handler_last_message_timestamp",
  "feed_handler_reconnects_total",
];

const chainRows = (rows: ChainRow[]) =>
  rows.map((c) => ({
    alert: c.alert,
    status: c.status,
    chain: c.chain.join(" → ") || "–",
    broken: c.broken.map((b) => `${b.link}: ${b.what}`).join("; ") || "–",
    fix: [...new Set(c.broken.map((b) => b.fix))].join("; ") || "–",
  }));
const CHAIN_COLUMNS = [
  { key: "alert", label: "Alert" },
  { key: "status", label: "Can fire" },
  { key: "chain", label: "Links that hold" },
  { key: "broken", label: "Broken links" },
  { key: "fix", label: "Fix" },
] as const;

/** The live audit: each alert's chain on the Prometheus asked, and the stack's own rules. */
export function liveSection(doc: Report, live: LiveAudit | undefined) {
  if (!live) return;
  doc.md`## Can the alerts fire? (live Prometheus)`;
  if ("skipped" in live) return void doc.note("NOT RUN", live.skipped);
  if ("unreachable" in live) return void doc.note("FAIL", live.unreachable);
  doc.md`Asked Prometheus ${live.version} at ${live.url}: ${live.rules.length} rules, ${live.targets.length} active
    targets. For each alert, the chain alert → metric → scrape job → target, from its rules, its targets and the
    series present now.`;
  const chains = liveChains(live);
  doc.table(chainRows(chains), [...CHAIN_COLUMNS], { caption: "Each alert's chain, live", summary: true });
  doc.table(
    live.targets.map((t) => ({ job: t.job, url: t.scrapeUrl, health: t.health, error: t.lastError || "–" })),
    [
      { key: "job", label: "Job" },
      { key: "url", label: "Scrape URL" },
      { key: "health", label: "Health" },
      { key: "error", label: "Last error" },
    ],
    { caption: "Scrape targets" },
  );
  findingsTable(doc, stackRuleFindings(live), "The stack's own rules");
}

/** The static audit of a platform checkout, and what --write changed there. */
export function checkoutSection(doc: Report, result: AlertingResult) {
  const c = result.checkout;
  if (c) {
    doc.md`## Can the alerts fire? (platform checkout)`;
    doc.md`Read ${c.dir} (${c.compose}, prometheus.yml, its rule files, the ClickHouse config, Grafana's provisioning
      and dashboards): what Prometheus would load and scrape if the stack started from these files.`;
    doc.table(chainRows(c.chains), [...CHAIN_COLUMNS], {
      caption: "Each alert's chain, from the files",
      summary: true,
    });
    findingsTable(doc, c.findings, "Findings in the checkout");
  }
  const w = result.write;
  if (!w) return;
  doc.md`## Written to ${w.dir}`;
  if (!w.changes.length) doc.note("INFO", "Nothing to change: the checkout already holds these files.");
  for (const ch of w.changes) doc.md`**${ch.path}** (${ch.why})\n\n\`\`\`diff\n${ch.diff}\n\`\`\``;
  if (w.loads)
    doc.note(
      "notChecked" in w.loads ? "NOT CHECKED" : w.loads.ok ? "PASS" : "FAIL",
      "notChecked" in w.loads
        ? `Whether Prometheus loads the checkout after writing was not checked: ${w.loads.notChecked}.`
        : `After writing, ${w.loads.promtool} checks the checkout as the container sees it (check config over ` +
            `prometheus.yml with the rules folder it loads, then the rule tests from their own folder): ` +
            `${w.loads.ok ? "it loads" : "it does not load"}.`,
    );
  const fixed = w.after.chains.filter((x) => !x.broken.some((b) => b.link === "rule")).length;
  doc.note(
    "INFO",
    `After writing, ${fixed} of ${w.after.chains.length} alerts are in a rule file Prometheus loads; ` +
      `${w.after.findings.length} findings remain in the checkout (the exporter, scrape jobs and ClickHouse's ` +
      "endpoint are changes for the platform, listed above).",
  );
}

function findingsTable(doc: Report, findings: AuditFinding[], caption: string) {
  if (!findings.length) return void doc.note("PASS", `${caption}: no finding.`);
  doc.table(
    findings,
    [
      { key: "where", label: "Where" },
      { key: "problem", label: "Problem" },
      { key: "fix", label: "Fix" },
    ],
    { caption, summary: true }, // the PR description carries them, not only the page
  );
}

/** Every alert that cannot fire, on any audited target: they fail the step under --gate. */
export function auditFailures(result: AlertingResult): string[] {
  const live =
    result.live && !("skipped" in result.live) && !("unreachable" in result.live) ? liveChains(result.live) : [];
  return [...live, ...(result.checkout?.chains ?? [])].filter((c) => c.status !== "PASS").map((c) => c.alert);
}
