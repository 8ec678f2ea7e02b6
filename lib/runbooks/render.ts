// A runbook as markdown, from the catalog and what was measured: the alerts with their measured time to fire, the
// ordered commands, prevention from measured budgets and bottlenecks, related monitoring, the measured MTTR and a
// "last verified" line; a runbook whose evidence is missing, stale or failed says so at its top. Pure: returns text.
import { ALERTS } from "../alerting/rules.ts";
import { formatDuration } from "../runtime/units.ts";
import type { Status } from "../verdict/status.ts";
import { type Command, type Runbook, shellOf } from "./catalog.ts";

/** The platform's runbook template (its docs/CLAUDE.md): these sections, under a title and three header lines. */
export const SECTIONS = [
  "Symptoms",
  "Diagnosis",
  "Resolution",
  "Prevention",
  "Related Monitoring",
  "Post-Incident",
] as const;

export type Fired = { alert: string; firingMs: number | null; status: Status; factor: number; where: string };
export type Budget = {
  container: string;
  cpuP99: number | null;
  budgetCpu: number | null;
  memMaxMb: number | null;
  budgetMemMb: number | null;
  restarts: number;
};
export type DrillResult = {
  runbook: string;
  status: Status;
  /** fault applied -> the runbook's verify check passes */
  recoveredMs: number | null;
  /** fault applied -> the verify check sees the failure (a stand-in for the alert: the check's own window) */
  detectedMs?: number | null;
  /** how long the resolution's commands took to run */
  resolutionMs: number;
  steps: { what: string; command: string; ran: boolean; ms: number; output: string; ok: boolean }[];
  note: string;
};
export type RunbookEvidence = {
  fired: Fired[];
  /** step 3's measurement of the same fault */
  stepThree: { status: Status; mttrFromStartMs: number | null; runId: string } | null;
  drill: DrillResult | null;
  budgets: Budget[];
  bottleneck: string | null;
  verified: { runId: string; date: string; target: string };
  /** evidence missing, stale or failed: said at the top */
  warnings: string[];
};

const secs = (ms: number | null) =>
  ms === null ? "never" : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : formatDuration(ms);
const code = (command: Command) => ["```bash", shellOf(command), "```"].join("\n");
const steps = (cs: Command[]) =>
  cs.map((c, i) => `${i + 1}. ${c.what}${c.when ? ` (only if ${c.when})` : ""}:\n\n${indent(code(c))}`).join("\n\n");
/** The template's resolution: one "### Step N: action" heading per command. */
const headed = (cs: Command[]) =>
  cs.map((c, i) => `### Step ${i + 1}: ${c.what}${c.when ? ` (only if ${c.when})` : ""}\n\n${code(c)}`).join("\n\n");
const indent = (s: string) =>
  s
    .split("\n")
    .map((l) => `   ${l}`)
    .join("\n");
const SEVERITY = { critical: "Critical", warning: "High", info: "Medium" } as const;

export function renderRunbook(book: Runbook, evidence: RunbookEvidence): string {
  const top = evidence.warnings.length
    ? [`> **Evidence incomplete:** ${evidence.warnings.join("; ")}.`, ""]
    : [`> Verified by drill: recovered in ${secs(evidence.drill?.recoveredMs ?? null)}.`, ""];
  const mttr = [
    `**MTTR target:** under ${formatDuration(book.mttrTargetMs)} (and under 15 min for an engineer new to the system).`,
    `**Measured:** drill ${secs(evidence.drill?.recoveredMs ?? null)} from fault to recovered` +
      (evidence.stepThree
        ? `; step 3 (${evidence.stepThree.runId}) ${secs(evidence.stepThree.mttrFromStartMs)} ` +
          `(${evidence.stepThree.status})`
        : "") +
      ".",
    `**Last verified:** run ${evidence.verified.runId}, ${evidence.verified.date.slice(0, 10)}, on ` +
      `${evidence.verified.target}.`,
  ];
  const severity = ALERTS.find((a) => a.name === book.alerts[0])?.severity;
  return [
    `# Runbook: ${book.title}`,
    "",
    `**Severity**: ${severity ? SEVERITY[severity] : "High"}  `,
    `**Last Updated**: ${evidence.verified.date.slice(0, 10)}  `,
    "**Maintained By**: Platform Engineering (written by k2-hardening 05-runbooks from measured runs)",
    "",
    ...top,
    ...mttr.map((l) => `${l}  `),
    "",
    "## Symptoms",
    "",
    ...symptoms(book, evidence),
    "",
    "## Diagnosis",
    "",
    steps(book.diagnosis),
    "",
    "## Resolution",
    "",
    headed(book.resolution),
    "",
    ...(book.gotchas.length ? ["Known gotchas:", "", ...book.gotchas.map((g) => `- ${g}`), ""] : []),
    "## Prevention",
    "",
    ...prevention(book, evidence).map((p) => `- ${p}`),
    "",
    "## Related Monitoring",
    "",
    `- Dashboard: k2-pipeline (docker/grafana/dashboards/k2-pipeline.json), rows ${book.rows.join(", ")}`,
    `- Alert: ${book.alerts.join(", ")}`,
    `- Metrics: ${book.metrics.map((m) => `\`${m}\``).join(", ")}`,
    "",
    "## Post-Incident",
    "",
    "- [ ] Update this runbook if steps changed (bun notebooks/05-runbooks.ts --write <checkout>)",
    `- [ ] Record the recovery time against the ${formatDuration(book.mttrTargetMs)} target`,
    "- [ ] Update alerting if the alert fired late or not at all (bun notebooks/04-live-fire.ts)",
    "",
  ].join("\n");
}

function symptoms(runbook: Runbook, evidence: RunbookEvidence): string[] {
  const lines = runbook.alerts.map((name) => {
    const a = ALERTS.find((x) => x.name === name);
    const f = evidence.fired.find((x) => x.alert === name);
    const measured = f
      ? f.firingMs === null
        ? `did not fire in the live fire (${f.status}, ${f.where})`
        : `fired ${secs(f.firingMs)} after its fault in the live fire (${f.where}` +
          `${f.factor === 1 ? "" : `, ${f.factor}x time-compressed`})`
      : "not measured live yet (bun notebooks/04-live-fire.ts)";
    return `- **${name}** (${a?.severity ?? "unknown severity"}): ${a?.summary ?? ""}; ${measured}.`;
  });
  return [
    ...lines,
    `- The dashboard's ${runbook.rows.join(" and ")} row${runbook.rows.length > 1 ? "s show" : " shows"} it first.`,
  ];
}

function prevention(book: Runbook, evidence: RunbookEvidence): string[] {
  const out = evidence.budgets.map(
    (b) =>
      `${b.container} in the burn-in: CPU p99 ${b.cpuP99?.toFixed(2) ?? "–"} of ${b.budgetCpu ?? "–"} ` +
      `cores, RAM max ${b.memMaxMb === null ? "–" : Math.round(b.memMaxMb)} of ${b.budgetMemMb ?? "–"} MB, ` +
      `${b.restarts} restarts: ` +
      (b.budgetMemMb !== null && b.memMaxMb !== null && b.memMaxMb > 0.8 * b.budgetMemMb
        ? "within 20% of its RAM budget, raise the limit before it is OOM-killed"
        : "headroom to spare"),
  );
  if (evidence.bottleneck && ["clickhouse-unavailable", "silver-mv-stall"].includes(book.name))
    out.push(`Step 1's bottleneck: ${evidence.bottleneck}.`);
  out.push(
    `Keep ${book.alerts[0]} routed to someone who can run this runbook; test it with bun notebooks/04-live-fire.ts.`,
  );
  return out;
}
