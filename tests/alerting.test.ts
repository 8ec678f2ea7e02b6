// Step 4's rules judged by the real promtool (Debian's prometheus package): the generated
// rules load, every alert's four cases hold, and a rule that drifts from its table is caught.
import { expect, test } from "bun:test";
import type { Panel } from "@grafana/schema";
import { parse } from "yaml";
import { buildDashboard, validateDashboard, validateRules } from "../lib/alerting/dashboard.ts";
import { CASES, findPromtool, judge, testYaml } from "../lib/alerting/promtool.ts";
import { ALERTS, expressionOf, type RuleFile, ruleYaml } from "../lib/alerting/rules.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";

test("the seven alerts of FACTS.md, with thresholds from the one source", () => {
  const file = parse(ruleYaml()) as RuleFile;
  const rules = file.groups[0]!.rules;
  expect(rules.map((r) => r.alert)).toEqual([
    "FeedHandlerDown",
    "RedpandaConsumerLagHigh",
    "ClickHouseBronzeInsertFailure",
    "MVProcessingDelay",
    "IcebergOffloadLag",
    "IcebergOffloadFailure",
    "ServiceOOMKill",
  ]);
  const expr = Object.fromEntries(rules.map((r) => [r.alert, r.expr]));
  expect(expr.FeedHandlerDown).toContain(`> ${THRESHOLDS.feedStaleMs / 1000}`);
  expect(expr.RedpandaConsumerLagHigh).toContain(`> ${THRESHOLDS.consumerLagMessages}`);
  expect(expr.IcebergOffloadFailure).toContain(`> ${THRESHOLDS.offloadFailedRunsAbove}`);
  for (const r of rules) {
    expect(r.expr).toContain("or on() absent(");
    expect(r.annotations.runbook_url).toMatch(/^docs\/operations\/runbooks\/[a-z-]+-runbook\.md$/);
  }
});

test(
  "promtool: the rules load and every alert fires, stays silent short of for and under threshold, " +
    "and fires when its metric is gone",
  async () => {
    const v = await judge(await findPromtool());
    expect(v.check.output).toContain("SUCCESS: 7 rules found");
    expect(v.output).toContain("SUCCESS");
    expect(v.cases).toHaveLength(ALERTS.length * CASES.length);
    expect(v.cases.filter((c) => c.status !== "PASS")).toEqual([]);
    expect(v.coverage.missing).toEqual([]);
    expect(v.coverage.covered).toHaveLength(7);
  },
);

test("promtool catches a rule that drifted from its table: the lag threshold one message lower", async () => {
  const drifted = ALERTS.map((a) =>
    a.name === "RedpandaConsumerLagHigh" ? { ...a, condition: a.condition.replace("> 1000", "> 999") } : a,
  );
  const v = await judge(await findPromtool(), ruleYaml(drifted), testYaml(ALERTS));
  const failed = v.cases.filter((c) => c.status === "FAIL").map((c) => `${c.alert}: ${c.case}`);
  expect(failed).toEqual(["RedpandaConsumerLagHigh: under threshold"]);
  expect(v.coverage.missing).toEqual(["RedpandaConsumerLagHigh"]);
});

test("promtool rejects PromQL that does not parse, in its own words", async () => {
  const broken = ALERTS.map((a) =>
    a.name === "MVProcessingDelay" ? { ...a, condition: "max by (exchange (x) > 1" } : a,
  );
  const v = await judge(await findPromtool(), ruleYaml(broken), testYaml(broken));
  expect(v.check.ok).toBe(false);
  expect(v.check.output).toMatch(/parse error|unexpected/);
  expect(v.coverage.covered).toEqual([]);
  expect(expressionOf(broken[3]!)).toContain("max by (exchange (x)");
});

test(
  "the dashboard: five rows that validate; an overlap, a dangling datasource, an unknown metric and an " +
    "undeclared variable are each named",
  () => {
    const d = buildDashboard();
    const rows = (d.panels ?? []).filter((p) => p.type === "row").map((p) => p.title);
    expect(rows).toEqual([
      "Feed handlers",
      "Redpanda lag",
      "ClickHouse pipeline",
      "Iceberg offload",
      "Resource utilisation",
    ]);
    expect(d.schemaVersion).toBe(40);
    expect(validateDashboard(d, ["prometheus"])).toEqual([]);
    expect(validateRules()).toEqual([]);

    const bad = structuredClone(d);
    const [, first, second] = bad.panels as Panel[];
    second!.gridPos = { ...first!.gridPos! };
    first!.targets = [{ refId: "A", expr: "rate(no_such_metric[1m]) + $nope" }];
    const problems = validateDashboard(bad, ["other-uid"]).map((f) => f.problem);
    expect(problems.some((p) => /^overlaps 2 "Trades landed per second"/.test(p))).toBe(true);
    expect(problems).toContain('datasource uid "prometheus" is not provisioned (have: other-uid)');
    expect(problems).toContain("unknown metric no_such_metric");
    expect(problems).toContain("variable $nope is not declared");
  },
);
