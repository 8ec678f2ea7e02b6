// Step 4's stored run, typed: the generated files, promtool's verdict, the dashboard's findings
// and the checklist; the summary other steps read.
import { type Fetched, type RunData, runIdentity } from "../runtime/store.ts";
import { type Criterion, type StepSummary, worst } from "../verdict/status.ts";
import type { LiveFacts } from "./audit.ts";
import type { CheckoutAudit } from "./checkout.ts";
import type { Finding } from "./dashboard.ts";
import type { LiveFireRecord } from "./livefire/record.ts";
import { coverageText, type PromtoolVerdict } from "./promtool.ts";
import { ALERTS } from "./rules.ts";
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
  write?: { dir: string; changes: Change[]; after: CheckoutAudit; loads?: WriteLoads } | null;
};
/** After --write: does Prometheus still load the checkout (promtool check config, and the tests from their folder)? */
export type WriteLoads = { ok: boolean; promtool: string; output: string } | { notChecked: string };

export async function alertingSummary(run: RunData<AlertingFetched>): Promise<StepSummary> {
  const m = run.manifest;
  const r = await run.json<AlertingResult>("result");
  return {
    ...runIdentity(m),
    status: worst(r.checklist),
    headline:
      `promtool: ${coverageText(r.verdict)} alerts covered; ` +
      `checklist ${r.checklist.filter((c) => c.status === "PASS").length}/${r.checklist.length} PASS`,
    criteria: r.checklist,
  };
}

/** "; the closest, IcebergOffloadFailure, at 46.9 of 49.1 s": the alert that came nearest its bound. */
function closest(record: LiveFireRecord) {
  const fired = record.results.filter((x) => x.firingMs !== null && x.boundMs > 0);
  if (!fired.length) return "";
  const c = fired.reduce((w, x) => (x.firingMs! / x.boundMs > w.firingMs! / w.boundMs ? x : w));
  return `; the closest, ${c.alert}, at ${(c.firingMs! / 1000).toFixed(1)} of ${(c.boundMs / 1000).toFixed(1)} s`;
}

/** Step 4 part 2: the live fire's proof, as criteria: every alert fired within its bound; a quiet baseline. */
export async function liveFireSummary(run: RunData<Fetched>): Promise<StepSummary> {
  const r = await run.json<LiveFireRecord>("livefire");
  const pass = r.results.filter((x) => x.status === "PASS");
  const where = r.mode === "live" ? `through ${r.prometheus}` : "in the lab";
  const scale = r.factor === 1 ? "full scale" : `${r.factor}x compressed`;
  const criteria: Criterion[] = [
    {
      criterion: `Every alert fires when its condition is created (live fire, ${ALERTS.length} alerts)`,
      status:
        pass.length === ALERTS.length ? "PASS" : r.results.some((x) => x.status === "FAIL") ? "FAIL" : "UNRESOLVED",
      evidence:
        `${pass.length}/${r.results.length} fired within their bound ${where} (${scale}): ` +
        r.results
          .map((x) => `${x.alert} ${x.firingMs === null ? x.status : `${(x.firingMs / 1000).toFixed(1)} s`}`)
          .join(", "),
    },
    {
      criterion: "No alert fires during a healthy baseline",
      status: r.baseline.fired.length ? "FAIL" : "PASS",
      evidence: r.baseline.fired.length
        ? `fired: ${r.baseline.fired.join(", ")}`
        : `${r.baseline.ms / 1000} s baseline, nothing pending or firing`,
    },
  ];
  return {
    ...runIdentity(run.manifest),
    status: worst(criteria),
    headline: `${pass.length}/${r.results.length} alerts fired within their bound ${where} (${scale})${closest(r)}`,
    criteria,
  };
}
