// Step 4's stored run, typed: the generated files, promtool's verdict, the dashboard's findings
// and the checklist; the summary other steps read.
import { runIdentity, type Fetched, type RunData } from "../runtime/store.ts";
import { worst, type StepSummary } from "../verdict/status.ts";
import { coverageText, type PromtoolVerdict } from "./promtool.ts";
import type { Finding } from "./dashboard.ts";
import type { Criterion } from "./checklist.ts";
import type { LiveFacts } from "./audit.ts";
import type { CheckoutAudit } from "./checkout.ts";
import type { Change } from "./write.ts";

export type AlertingFetched = Fetched & {
  parameters: { promtool: string; prometheus?: string; stackConfig?: string | null; write?: string | null };
};
/** The live audit: what the Prometheus said, or why it was not asked (unset URL with nothing there) or not reached. */
export type LiveAudit = LiveFacts | { skipped: string } | { unreachable: string };
export type AlertingResult = {
  /** the generated files by their name under out/04-alerting/ */
  files: Record<string, string>;
  verdict: PromtoolVerdict;
  dashboard: Finding[];
  rules: Finding[];
  checklist: Criterion[];
  /** runs stored before the audits existed have none of these */
  live?: LiveAudit;
  checkout?: (CheckoutAudit & { dir: string }) | null;
  write?: { dir: string; changes: Change[]; after: CheckoutAudit } | null;
};

export async function alertingSummary(run: RunData<AlertingFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const r = await run.json<AlertingResult>("result");
  return {
    ...runIdentity(m),
    status: worst(r.checklist),
    headline:
      `promtool: ${coverageText(r.verdict)} alerts covered; ` +
      `checklist ${r.checklist.filter((c) => c.status === "PASS").length}/${r.checklist.length} PASS`,
  };
}
