// Step 4's stored run, typed: the generated files, promtool's verdict, the dashboard's findings
// and the checklist; the summary other steps read.
import type { Fetched, RunData } from "../runtime/store.ts";
import { worst, type StepSummary } from "../verdict/status.ts";
import type { PromtoolVerdict } from "./promtool.ts";
import type { Finding } from "./dashboard.ts";
import type { Criterion } from "./checklist.ts";

export type AlertingFetched = Fetched & { parameters: { promtool: string } };
export type AlertingResult = {
  files: { rules: string; tests: string; dashboard: string; datasource: string };
  verdict: PromtoolVerdict;
  dashboard: Finding[];
  rules: Finding[];
  checklist: Criterion[];
};

export async function alertingSummary(run: RunData<AlertingFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const r = await run.json<AlertingResult>("result");
  return {
    notebook: m.notebook,
    runId: m.runId,
    createdAt: m.createdAt,
    target: m.target?.label ?? "none",
    status: worst(r.checklist),
    headline:
      `promtool: ${r.verdict.coverage.covered.length}/${r.verdict.coverage.covered.length + r.verdict.coverage.missing.length} ` +
      `alerts covered; checklist ${r.checklist.filter((c) => c.status === "PASS").length}/${r.checklist.length} PASS`,
  };
}
