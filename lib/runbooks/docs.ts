// Measured values for the platform's documents (FACTS.md, step 5): markdown blocks for ARCHITECTURE-V2.md (resources
// from step 2, per-segment latency from step 1), phase 7's PROGRESS.md (each step with its date and result table),
// v2/README.md and CURRENT-STATE.md, as the report shows them and out/05-runbooks/docs/ holds them. Each block names
// the runs its numbers come from. (--write fills the documents' own tables instead: platform.ts.) Pure.
import type { Criterion } from "../verdict/status.ts";
import type { StepEvidence } from "./evidence.ts";

export type DocBlock = { doc: DocName; name: string; body: string };
type DocName = "ARCHITECTURE-V2.md" | "PROGRESS.md" | "v2/README.md" | "CURRENT-STATE.md";
export type ResourceRow = {
  container: string;
  budgetCpu: number | null;
  cpuP99: number | null;
  budgetMemMb: number | null;
  memMaxMb: number | null;
  status: string;
};
export type SegmentRow = {
  segment: string;
  p99Ms: number | null;
  budgetMs: number | null;
  source: string;
  /** the budget's segment and the scenario (records before: absent) */
  key?: string;
  scenario?: string;
};
export type DocInput = {
  steps: StepEvidence[];
  /** step 5's own criteria (this run; its id is left out so that the blocks change only when the evidence does) */
  signoff: { date: string; criteria: Criterion[] };
  resources: { runId: string; rows: ResourceRow[] } | null;
  segments: { runId: string; rows: SegmentRow[] } | null;
  complete: boolean;
};

const n = (v: number | null, d = 0) => (v === null ? "–" : v.toFixed(d));
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join(
    "\n",
  );
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const runName = (r: NonNullable<StepEvidence["run"]>) => `${r.runId} (${r.createdAt.slice(0, 10)})`;
const from = (evidence: StepEvidence) => (evidence.run ? `${evidence.notebook} run ${runName(evidence.run)}` : "–");

export function docBlocks(input: DocInput): DocBlock[] {
  const phase = input.complete ? "Phase 7 complete" : "Phase 7 in progress";
  const stepRows = input.steps
    .filter((s) => s.step > 0)
    .map((s) => [`${s.step}. ${s.title}`, s.status, cell(s.headline), s.run ? s.run.createdAt.slice(0, 10) : "–"]);
  const resources = input.resources
    ? `Resource use in the burn-in (02-burn-in run ${input.resources.runId}):\n\n` +
      table(
        ["Service", "CPU budget", "CPU p99", "RAM budget (MB)", "RAM max (MB)", "Status"],
        input.resources.rows.map((r) => [
          r.container,
          n(r.budgetCpu, 1),
          n(r.cpuP99, 2),
          n(r.budgetMemMb),
          n(r.memMaxMb),
          r.status,
        ]),
      )
    : "No burn-in run stored: bun notebooks/02-burn-in.ts";
  const segments = input.segments
    ? `Per-segment latency (01-latency run ${input.segments.runId}):\n\n` +
      table(
        ["Segment", "p99 (ms)", "Budget (ms)", "Measured from"],
        input.segments.rows.map((r) => [r.segment, n(r.p99Ms, 1), n(r.budgetMs), cell(r.source)]),
      )
    : "No latency run stored: bun notebooks/01-latency.ts";
  const progress = input.steps
    .filter((s) => s.step > 0)
    .map(
      (s) =>
        `### Step ${s.step}: ${s.title} (${s.status}, ${s.run ? s.run.createdAt.slice(0, 10) : "not run"})\n\n` +
        (s.criteria.length
          ? table(
              ["Criterion", "Status", "Evidence"],
              s.criteria.map((c) => [cell(c.criterion), c.status, cell(c.evidence)]),
            )
          : cell(s.problem ?? s.headline)) +
        `\n\nFrom: ${from(s)}`,
    );
  const signoff = table(
    ["Criterion", "Status", "Evidence"],
    input.signoff.criteria.map((c) => [cell(c.criterion), c.status, cell(c.evidence)]),
  );
  return [
    { doc: "ARCHITECTURE-V2.md", name: "phase7-resources", body: resources },
    { doc: "ARCHITECTURE-V2.md", name: "phase7-latency", body: segments },
    {
      doc: "PROGRESS.md",
      name: "phase7-progress",
      body: [
        `${phase}: ${input.steps.filter((s) => s.step > 0 && s.status === "PASS").length}/${stepRows.length} ` +
          "step runs pass.",
        ...progress,
        `### Step 5: Runbooks and docs (05-runbooks, ${input.signoff.date.slice(0, 10)})\n\n${signoff}`,
      ].join("\n\n"),
    },
    {
      doc: "v2/README.md",
      name: "phase-status",
      body:
        `Phases 1-6 complete; ${phase} (signed off ${input.signoff.date.slice(0, 10)} by k2-hardening ` +
        "05-runbooks).",
    },
    {
      doc: "CURRENT-STATE.md",
      name: "phase7-state",
      body: `${phase}.\n\n${table(["Step", "Verdict", "Key figures", "Date"], stepRows)}`,
    },
  ];
}
