// Measured values for the platform's documents (FACTS.md, step 5): markdown blocks for ARCHITECTURE-V2.md (resources
// from step 2, per-segment latency from step 1), phase 7's PROGRESS.md (each step with its date and result table),
// v2/README.md and CURRENT-STATE.md. Each block names the runs its numbers come from. --write puts a block between its
// marker comments, idempotently; a file without the markers is left alone unless --append (the block then goes at the
// end, markers and all); nothing else in a file is touched. Pure: blocks and planned changes as text.
import { createTwoFilesPatch } from "diff";
import type { Change } from "../alerting/write.ts";
import type { Criterion } from "../verdict/status.ts";
import type { StepEvidence } from "./evidence.ts";

export type DocBlock = { doc: DocName; name: string; body: string };
export type DocName = "ARCHITECTURE-V2.md" | "PROGRESS.md" | "v2/README.md" | "CURRENT-STATE.md";
export type ResourceRow = {
  container: string;
  budgetCpu: number | null;
  cpuP99: number | null;
  budgetMemMb: number | null;
  memMaxMb: number | null;
  status: string;
};
export type SegmentRow = { segment: string; p99Ms: number | null; budgetMs: number | null; source: string };
export type DocInput = {
  steps: StepEvidence[];
  /** step 5's own criteria (this run; its id is left out so that the blocks change only when the evidence does) */
  signoff: { date: string; criteria: Criterion[] };
  resources: { runId: string; rows: ResourceRow[] } | null;
  segments: { runId: string; rows: SegmentRow[] } | null;
  complete: boolean;
};

const begin = (name: string) => `<!-- k2-hardening:begin ${name} -->`;
const end = (name: string) => `<!-- k2-hardening:end ${name} -->`;
const n = (v: number | null, d = 0) => (v === null ? "–" : v.toFixed(d));
const table = (head: string[], rows: string[][]) =>
  [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join(
    "\n",
  );
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
const runName = (r: NonNullable<StepEvidence["run"]>) => `${r.runId} (${r.createdAt.slice(0, 10)})`;
const from = (e: StepEvidence) => (e.run ? `${e.notebook} run ${runName(e.run)}` : "–");

export function docBlocks(x: DocInput): DocBlock[] {
  const phase = x.complete ? "Phase 7 complete" : "Phase 7 in progress";
  const stepRows = x.steps
    .filter((s) => s.step > 0)
    .map((s) => [`${s.step}. ${s.title}`, s.status, cell(s.headline), s.run ? s.run.createdAt.slice(0, 10) : "–"]);
  const resources = x.resources
    ? `Resource use in the burn-in (02-burn-in run ${x.resources.runId}):\n\n` +
      table(
        ["Service", "CPU budget", "CPU p99", "RAM budget (MB)", "RAM max (MB)", "Status"],
        x.resources.rows.map((r) => [
          r.container,
          n(r.budgetCpu, 1),
          n(r.cpuP99, 2),
          n(r.budgetMemMb),
          n(r.memMaxMb),
          r.status,
        ]),
      )
    : "No burn-in run stored: bun notebooks/02-burn-in.ts";
  const segments = x.segments
    ? `Per-segment latency (01-latency run ${x.segments.runId}):\n\n` +
      table(
        ["Segment", "p99 (ms)", "Budget (ms)", "Measured from"],
        x.segments.rows.map((r) => [r.segment, n(r.p99Ms, 1), n(r.budgetMs), cell(r.source)]),
      )
    : "No latency run stored: bun notebooks/01-latency.ts";
  const progress = x.steps
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
    x.signoff.criteria.map((c) => [cell(c.criterion), c.status, cell(c.evidence)]),
  );
  return [
    { doc: "ARCHITECTURE-V2.md", name: "phase7-resources", body: resources },
    { doc: "ARCHITECTURE-V2.md", name: "phase7-latency", body: segments },
    {
      doc: "PROGRESS.md",
      name: "phase7-progress",
      body: [
        `${phase}: ${x.steps.filter((s) => s.step > 0 && s.status === "PASS").length}/${stepRows.length} ` +
          "step runs pass.",
        ...progress,
        `### Step 5: Runbooks and docs (05-runbooks, ${x.signoff.date.slice(0, 10)})\n\n${signoff}`,
      ].join("\n\n"),
    },
    {
      doc: "v2/README.md",
      name: "phase-status",
      body: `Phases 1-6 complete; ${phase} (signed off ${x.signoff.date.slice(0, 10)} by k2-hardening 05-runbooks).`,
    },
    {
      doc: "CURRENT-STATE.md",
      name: "phase7-state",
      body: `${phase}.\n\n${table(["Step", "Verdict", "Key figures", "Date"], stepRows)}`,
    },
  ];
}

/** The text with the block between its markers; null when the markers are absent and `append` was not asked. */
export function spliceBlock(text: string, b: DocBlock, append: boolean): string | null {
  const block = `${begin(b.name)}\n${b.body}\n${end(b.name)}`;
  const i = text.indexOf(begin(b.name));
  const j = text.indexOf(end(b.name));
  if (i >= 0 && j > i) return text.slice(0, i) + block + text.slice(j + end(b.name).length);
  if (!append) return null;
  return `${text.replace(/\n*$/, "")}\n\n${block}\n`;
}

/** Which file in the docs folder is which document: by name, PROGRESS.md in a phase-7 folder. */
export function locate(doc: DocName, paths: string[]): string | undefined {
  const base = doc.split("/").at(-1)!;
  const hits = paths.filter(
    (p) => p === doc || p.endsWith(`/${doc}`) || (doc === base && p.split("/").at(-1) === base),
  );
  return doc === "PROGRESS.md"
    ? hits.find((p) => /phase[-_ ]?7/i.test(p))
    : hits.sort((a, b) => a.length - b.length)[0];
}

export type DocsPlan = { changes: Change[]; skipped: { doc: string; why: string }[] };

export function planDocs(paths: string[], read: (p: string) => string, blocks: DocBlock[], append: boolean): DocsPlan {
  const after = new Map<string, { before: string; text: string; names: string[] }>();
  const skipped: DocsPlan["skipped"] = [];
  for (const b of blocks) {
    const path = locate(b.doc, paths);
    if (!path) {
      skipped.push({ doc: b.doc, why: "not found in the docs folder" });
      continue;
    }
    const cur = after.get(path) ?? { before: read(path), text: read(path), names: [] };
    const next = spliceBlock(cur.text, b, append);
    if (next === null) {
      skipped.push({
        doc: path,
        why: `no markers for ${b.name}: put ${begin(b.name)} and ${end(b.name)} where it belongs, or pass --append`,
      });
      continue;
    }
    after.set(path, { ...cur, text: next, names: [...cur.names, b.name] });
  }
  const changes = [...after]
    .filter(([, v]) => v.text !== v.before)
    .map(([path, v]) => ({
      path,
      before: v.before,
      after: v.text,
      why: `measured values: ${v.names.join(", ")}`,
      diff: createTwoFilesPatch(`a/${path}`, `b/${path}`, v.before, v.text, "", ""),
    }));
  return { changes, skipped };
}
