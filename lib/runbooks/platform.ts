// The platform's own documents, filled where they ask to be (FACTS.md, "Docs tree"): each Phase 7 step file's
// "Results (to fill in)" table and lines, Phase 7 PROGRESS.md's milestone rows and its latency, resource and failure
// tables, the phase's row in docs/phases/v2/README.md and CURRENT-STATE.md, ARCHITECTURE-V2.md's v2 figures (the
// planned figure kept, the measured one beside it), and the runbooks with their rows in the runbook index. Cells are
// found by their tables' headers and rows' names; nothing else in a file changes; docs/archive/ is never read.
// Pure: the checkout comes in as its paths and a reader; the plan goes out as changes.
import { createTwoFilesPatch } from "diff";
import type { Change } from "../alerting/write.ts";
import { UNCONTAINED_BUDGET } from "../k2/stack.ts";
import { MTTR_TARGET_MS } from "../k2/thresholds.ts";
import { formatDuration } from "../runtime/units.ts";
import { type Criterion, type Status, worst } from "../verdict/status.ts";
import type { StepEvidence } from "./evidence.ts";
import { type CellFill, type FillResult, fillAll, type LabelFill, type TableSpec, upsertRows } from "./fill.ts";
import type { SignoffRecord } from "./summary.ts";

type Fill = { table: TableSpec } | { label: LabelFill };
export type PlatformInput = {
  rec: Pick<SignoffRecord, "steps" | "stepThree" | "resources" | "segments" | "scenarios" | "bottleneck">;
  /** step 5's criteria and the date the documents carry */
  signoff: { criteria: Criterion[]; date: string };
  /** every filled value says "(lab)": lab evidence written on purpose (--include-lab) */
  lab: boolean;
  /** the runbooks: file, its text, and its row in the index */
  runbooks: { file: string; text: string; title: string; severity: string; mttr: string; alerts: string[] }[];
};
export type PlatformPlan = { changes: Change[]; unfilled: { doc: string; why: string }[] };

const PHASE7 = /^docs\/phases\/v2\/phase-7[^/]*\//;
const RUNBOOK_DIR = "docs/operations/runbooks";
const DOCS = {
  step: (n: number) => (p: string) => PHASE7.test(p) && new RegExp(`/steps/step-0${n}-[^/]*\\.md$`).test(p),
  progress: (p: string) => PHASE7.test(p) && p.endsWith("/PROGRESS.md"),
  readme: (p: string) => p === "docs/phases/v2/README.md",
  state: (p: string) => p === "docs/phases/v2/CURRENT-STATE.md",
  architecture: (p: string) => p.endsWith("/ARCHITECTURE-V2.md") && p.startsWith("docs/decisions/"),
  index: (p: string) => p === `${RUNBOOK_DIR}/README.md`,
};

const BADGE: Record<Status, string> = {
  PASS: "✅ PASS",
  FAIL: "🔴 FAIL",
  WARN: "🟡 WARN",
  UNRESOLVED: "🟡 UNRESOLVED",
  "NOT RUN": "⬜ NOT RUN",
  "NOT CHECKED": "⬜ NOT CHECKED",
  SKIPPED: "⬜ SKIPPED",
  INFO: "INFO",
};
const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${Math.round(v)} ms`);
const day = (iso: string | undefined) => iso?.slice(0, 10) ?? "--";
const mb = (v: number | null) =>
  v === null ? "–" : v >= 1024 ? `${(v / 1024).toFixed(1)}GB` : v < 10 ? `${v.toFixed(1)}MB` : `${Math.round(v)}MB`;
/** PASS only when every one passed: a step or a milestone with a part not run is not done (worst ranks NOT RUN low). */
function strict(xs: { status: Status }[]): Status {
  const open = xs.filter((x) => x.status !== "PASS");
  return !xs.length ? "NOT RUN" : !open.length ? "PASS" : open.some((x) => x.status === "FAIL") ? "FAIL" : worst(open);
}
const worstOf = (xs: string[]) => strict(xs.map((x) => ({ status: (x in BADGE ? x : "UNRESOLVED") as Status })));
const cores = (v: number | null) => (v === null ? "–" : v.toFixed(2));
const sum = (xs: (number | null)[]) => xs.reduce<number>((a, b) => a + (b ?? 0), 0);
/** ", 3 not measured" when some of a sum's parts were not */
const unmeasured = (xs: (number | null)[]) => {
  const n = xs.filter((x) => x === null).length;
  return n ? `, ${n} not measured` : "";
};
/** A sum of per-service figures: an upper bound of the stack's own (p99s and maxima fall at different times). */
const bound = (xs: (number | null)[], f: (v: number) => string, what: string) =>
  `≤ ${f(sum(xs))} (${what}${unmeasured(xs)})`;
const cpuSum = (rs: { cpuP99: number | null }[]) =>
  bound(
    rs.map((r) => r.cpuP99),
    cores,
    "sum of p99s",
  );
const ramSum = (rs: { memMaxMb: number | null }[]) =>
  bound(
    rs.map((r) => r.memMaxMb),
    mb,
    "sum of maxima",
  );

/** Step 4 is two notebooks (the rules, the live fire): one row, the worse verdict, the later date. */
function stepOf(steps: StepEvidence[], n: number) {
  const s = steps.filter((x) => x.step === n);
  const runs = s.flatMap((x) => (x.run ? [x.run] : []));
  return {
    status: strict(s),
    date: runs
      .map((r) => r.createdAt)
      .sort()
      .at(-1),
    runs: runs.map((r) => r.runId).join(", "),
    headline: s.map((x) => x.headline).join("; "),
  };
}

/** Every value a fill writes, marked when the evidence is the lab's. */
function marked(fills: Fill[], lab: boolean): Fill[] {
  if (!lab) return fills;
  const m = (v: string) => (v.endsWith(" (lab)") ? v : `${v} (lab)`);
  return fills.map((f) =>
    "table" in f
      ? { table: { ...f.table, cells: f.table.cells.map((c) => ({ ...c, value: m(c.value) })) } }
      : { label: { ...f.label, value: m(f.label.value) } },
  );
}

const cellsOf = (row: string, values: Record<string, string>, annotate = false): CellFill[] =>
  Object.entries(values).map(([column, value]) => ({ row, column, value, annotate }));

function stepOne(input: PlatformInput): Fill[] {
  const s = input.rec.scenarios;
  const e = stepOf(input.rec.steps, 1);
  const rows = SCENARIO_COLUMNS.flatMap((name) => {
    const r = s?.rows.find((y) => y.scenario === name);
    if (!r) return s ? cellsOf(name, { Notes: `NOT RUN: not in run ${s.runId}` }) : [];
    return cellsOf(name, {
      p50: ms(r.p50),
      p99: ms(r.p99),
      Max: ms(r.max),
      Notes: `${r.status}: ${r.trades} trades, ${r.achieved}; run ${s!.runId}`,
    });
  });
  return [
    { label: { label: "Status", value: BADGE[e.status] } },
    { label: { label: "Last Updated", value: day(e.date) } },
    { table: { header: ["Scenario", "p50", "p99", "Max", "Notes"], cells: rows } },
    { label: { label: "Bottleneck identified", value: input.rec.bottleneck ?? "none measured" } },
    { label: { label: "Tuning applied", value: s?.tuning ?? "none recorded (01-latency --tuning)" } },
  ];
}

/** The burn-in's containers as the step file and PROGRESS.md name services (k2-redpanda is `redpanda`). */
const service = (container: string) => container.replace(/^k2-/, "");

function stepTwo(input: PlatformInput): Fill[] {
  const r = input.rec.resources;
  const e = stepOf(input.rec.steps, 2);
  const rows = r?.rows ?? [];
  const over = rows.filter((y) => y.status !== "PASS");
  const cells = rows.flatMap((y) =>
    cellsOf(service(y.container), {
      "CPU Actual (p99)": cores(y.cpuP99),
      "RAM Actual (max)": mb(y.memMaxMb),
      Status: BADGE[worstOf([y.status])],
    }),
  );
  const total = cellsOf("Total", {
    "CPU Actual (p99)": cpuSum(rows),
    "RAM Actual (max)": ramSum(rows),
    Status: BADGE[worstOf(rows.map((y) => y.status))],
  });
  const header = ["Service", "CPU Budget", "CPU Actual (p99)", "RAM Budget", "RAM Actual (max)", "Status"];
  const uncontained = cellsOf(UNCONTAINED_BUDGET.service, { "CPU Actual (p99)": "n/a: no container to sample" });
  return [
    { label: { label: "Status", value: BADGE[e.status] } },
    { label: { label: "Last Updated", value: day(e.date) } },
    { label: { label: "Run date", value: r ? `${day(e.date)} (02-burn-in run ${r.runId})` : "--" } },
    { table: { header, cells: rows.length ? [...cells, ...total, ...uncontained] : [] } },
    {
      label: {
        label: "Any services over budget",
        value: !r ? "--" : over.length ? over.map((y) => `${service(y.container)} (${y.status})`).join(", ") : "none",
      },
    },
  ];
}

function stepThree(input: PlatformInput): Fill[] {
  const e = stepOf(input.rec.steps, 3);
  const notRun = notRunTests(input, (run) => ({ Result: BADGE["NOT RUN"], Notes: `not in run ${run}` }));
  const cells = input.rec.stepThree.flatMap((t) =>
    cellsOf(t.test, {
      "Run Date": day(e.date),
      Result: BADGE[t.status],
      MTTR: t.mttrFromStartMs === null ? "not recovered" : formatDuration(t.mttrFromStartMs),
      Notes: t.failed?.length ? `failed: ${t.failed.join("; ")}` : `run ${t.runId}`,
    }),
  );
  return [
    { label: { label: "Status", value: BADGE[e.status] } },
    { label: { label: "Last Updated", value: day(e.date) } },
    { table: { header: ["Test", "Run Date", "Result", "MTTR", "Notes"], cells: [...cells, ...notRun] } },
  ];
}

/** PROGRESS.md's segment rows, by the budget segment that measures them (null: nothing in v2 is that segment). */
const PROGRESS_SEGMENTS: { row: string; key: string | null; note?: string }[] = [
  { row: "Exchange → Handler", key: "parse" },
  { row: "Handler → Redpanda", key: "produce" },
  { row: "Redpanda → CH Raw", key: "kafka" },
  { row: "Raw → Bronze (MV)", key: "mv", note: "all MVs, one insert" },
  { row: "Silver Processor", key: null, note: "n/a: v2 has no silver processor (an MV)" },
  { row: "Silver → Gold (MV)", key: null, note: "in Raw → Bronze (one insert runs every MV)" },
  { row: "Total", key: "total" },
];
/** PROGRESS.md's resource rows, by the containers they are (none: not a v2 service). */
const PROGRESS_SERVICES: [string, string[]][] = [
  ["Redpanda", ["redpanda"]],
  ["ClickHouse", ["clickhouse"]],
  ["Kotlin Feed Handler", ["feed-handler-binance", "feed-handler-kraken", "feed-handler-coinbase"]],
  ["Silver Processor", []],
  ["MinIO", ["minio"]],
  ["PostgreSQL", ["prefect-db"]],
  ["Iceberg REST", ["iceberg-rest"]],
  ["Spark (batch)", ["spark-iceberg"]],
  ["FastAPI", []],
  ["Grafana", ["grafana"]],
  ["Prometheus", ["prometheus"]],
];
const MILESTONES: [string, number[]][] = [
  ["Milestone M1", [1, 2]],
  ["Milestone M2", [3]],
  ["Milestone M3", [4, 5]],
];
const SCENARIO_COLUMNS = ["1x", "5x", "10x"];

function stepRow(input: PlatformInput, n: number) {
  if (n === 5) {
    // step 5's own verdict without the criterion this write decides
    const c = input.signoff.criteria.filter((y) => !y.criterion.startsWith("Platform docs"));
    const open = c.filter((y) => y.status !== "PASS").map((y) => `${y.criterion}: ${y.status}`);
    const headline = `05-runbooks sign-off${open.length ? `; ${open.join("; ")}` : ""}`;
    return { status: strict(c), date: input.signoff.date, runs: "", headline };
  }
  return stepOf(input.rec.steps, n);
}

function progress(input: PlatformInput): Fill[] {
  const rows = [1, 2, 3, 4, 5].map((n) => stepRow(input, n));
  const pass = rows.filter((r) => r.status === "PASS").length;
  const milestones = MILESTONES.flatMap(([section, steps]): Fill[] => [
    {
      table: {
        section,
        header: ["Step", "Title", "Status", "Started", "Completed", "Notes"],
        cells: steps.flatMap((n) => {
          const r = rows[n - 1]!;
          return cellsOf(String(n), {
            Status: BADGE[r.status],
            Started: day(r.date),
            Completed: r.status === "PASS" ? day(r.date) : "--",
            Notes: r.runs ? `${r.headline} (run ${r.runs})` : r.headline,
          });
        }),
      },
    },
    { label: { section, label: "Milestone Status", value: BADGE[strict(steps.map((n) => rows[n - 1]!))] } },
  ]);
  return [
    { label: { label: "Status", value: pass === 5 ? "✅ COMPLETE" : "🟡 IN PROGRESS" } },
    { label: { label: "Progress", value: `${pass}/5 steps (${pass * 20}%)` } },
    { label: { label: "Last Updated", value: input.signoff.date } },
    ...milestones,
    progressLatency(input),
    progressResources(input),
    progressFailures(input),
  ];
}

function progressLatency(input: PlatformInput): Fill {
  const segs = input.rec.segments?.rows ?? [];
  const p99 = (key: string, scenario: string) =>
    key === "total"
      ? (input.rec.scenarios?.rows.find((r) => r.scenario === scenario)?.p99 ?? null)
      : (segs.find((s) => s.key === key && s.scenario === scenario)?.p99Ms ?? null);
  const budget = (key: string) => (key === "total" ? null : (segs.find((s) => s.key === key)?.budgetMs ?? null));
  const cells = PROGRESS_SEGMENTS.flatMap(({ row, key, note }) => {
    if (!key) return cellsOf(row, { "Actual (1x)": note!, Status: "n/a" });
    const v = SCENARIO_COLUMNS.map((sc) => p99(key, sc));
    const measured = v.filter((y): y is number => y !== null);
    const b = budget(key);
    const status: Status = !measured.length
      ? "NOT RUN"
      : b === null
        ? "INFO"
        : Math.max(...measured) < b
          ? "PASS"
          : "FAIL";
    return cellsOf(row, {
      ...Object.fromEntries(
        SCENARIO_COLUMNS.map((sc, i) => [
          `Actual (${sc})`,
          v[i] === null ? "not measured" : `p99 ${v[i]!.toFixed(1)} ms${note ? ` (${note})` : ""}`,
        ]),
      ),
      Status: status === "INFO" ? "measured (p99 of each scenario)" : BADGE[status],
    });
  });
  return {
    table: {
      section: "Latency Benchmark Results",
      header: ["Segment", "Target", "Actual (1x)", "Actual (5x)", "Actual (10x)", "Status"],
      cells,
    },
  };
}

function progressResources(input: PlatformInput): Fill {
  const rows = input.rec.resources?.rows ?? [];
  const group = (names: string[]) => rows.filter((r) => names.includes(service(r.container)));
  const values = (rs: typeof rows, row: string) =>
    cellsOf(row, {
      "Actual CPU": rs.length > 1 ? cpuSum(rs) : cores(rs[0]!.cpuP99),
      "Actual RAM": rs.length > 1 ? ramSum(rs) : mb(rs[0]!.memMaxMb),
      Status: BADGE[worstOf(rs.map((r) => r.status))],
    });
  const cells = !rows.length
    ? []
    : [
        ...PROGRESS_SERVICES.flatMap(([row, names]) => {
          const rs = group(names);
          return !names.length
            ? cellsOf(row, { "Actual CPU": "n/a: not a v2 service", Status: "n/a" })
            : rs.length
              ? values(rs, row)
              : [];
        }),
        ...values(rows, "Total"),
      ];
  const header = ["Service", "Target CPU", "Actual CPU", "Target RAM", "Actual RAM", "Status"];
  return { table: { section: "Resource Budget Validation", header, cells } };
}

/** Trades lost by exchange (a stopped handler's exchange misses what it sent while down: said by name). */
function lossText(lostBy: Record<string, number> | null | undefined): string {
  if (!lostBy) return "not counted";
  const lost = Object.entries(lostBy).filter(([, n]) => n > 0);
  return lost.length ? lost.map(([ex, n]) => `${ex}: ${n} trades`).join(", ") : "none";
}

/** Step 3's tests that a run did not hold, for its rows: NOT RUN, not left as the platform's placeholder. */
function notRunTests(input: PlatformInput, columns: (run: string) => Record<string, string>): CellFill[] {
  const run = input.rec.stepThree[0]?.runId;
  if (!run) return [];
  return Object.keys(MTTR_TARGET_MS)
    .filter((t) => !input.rec.stepThree.some((y) => y.test === t))
    .flatMap((t) => cellsOf(t, columns(run)));
}

function progressFailures(input: PlatformInput): Fill {
  const cells = input.rec.stepThree.flatMap((t) =>
    cellsOf(t.test, {
      "Actual Recovery": t.mttrFromStartMs === null ? "not recovered" : formatDuration(t.mttrFromStartMs),
      "Data Loss": lossText(t.lostBy),
      Status: BADGE[t.status],
    }),
  );
  const header = ["Failure", "Expected Recovery", "Actual Recovery", "Data Loss", "Status"];
  return {
    table: {
      section: "Failure Mode Test Results",
      header,
      cells: [
        ...cells,
        ...notRunTests(input, (run) => ({ Status: `${BADGE["NOT RUN"]}: not in run ${run}` })),
        ...cellsOf("Silver Processor crash", { "Actual Recovery": "n/a: not a v2 service", Status: "n/a" }),
      ],
    },
  };
}

function phaseLine(input: PlatformInput) {
  const pass = [1, 2, 3, 4, 5].filter((n) => stepRow(input, n).status === "PASS").length;
  return { complete: pass === 5, pass, by: `${input.signoff.date}, k2-hardening 05-runbooks` };
}

function readme(input: PlatformInput): Fill[] {
  const p = phaseLine(input);
  const r = input.rec.resources?.rows ?? [];
  const budget: Fill[] = r.length
    ? [
        {
          table: {
            section: "Budget Checkpoints",
            header: ["Checkpoint", "CPU", "RAM"],
            cells: [...cellsOf("Phase 7 (hardened)", { CPU: cpuSum(r), RAM: ramSum(r) }, true)],
          },
        },
      ]
    : [];
  const gate = p.complete ? `✅ **COMPLETE** (${p.by})` : `🟡 **IN PROGRESS** - ${p.pass}/5 steps pass (${p.by})`;
  return [
    { table: { section: "Phase Summary", header: ["Phase", "Name", "Gate"], cells: cellsOf("7", { Gate: gate }) } },
    ...budget,
  ];
}

function currentState(input: PlatformInput): Fill[] {
  const p = phaseLine(input);
  const status = p.complete ? `✅ Complete (${p.by})` : `🟡 In progress: ${p.pass}/5 steps pass (${p.by})`;
  const cells = cellsOf("Phase 7", { Status: status });
  return [{ table: { section: "Phase Completion Matrix", header: ["Phase", "Name", "Status"], cells } }];
}

function architecture(input: PlatformInput): Fill[] {
  const r = input.rec.resources;
  const s = input.rec.scenarios;
  const cells: CellFill[] = [];
  if (r) {
    const run = `02-burn-in run ${r.runId}`;
    cells.push(...cellsOf("CPU (limits)", { v2: `CPU ${cpuSum(r.rows)}, ${run}` }, true));
    cells.push(...cellsOf("RAM (limits)", { v2: `RAM ${ramSum(r.rows)}, ${run}` }, true));
  }
  if (s?.rows.length) {
    const p = s.rows.map((y) => `${y.scenario} ${ms(y.p99)}`).join(", ");
    cells.push(...cellsOf("E2E latency", { v2: `p99 ${p}, 01-latency run ${s.runId}` }, true));
  }
  return [{ table: { header: ["Metric", "v1", "v2", "Improvement"], cells } }];
}

const DOC_FILLS: { name: string; find: (p: string) => boolean; fills: (input: PlatformInput) => Fill[] }[] = [
  { name: "step 1's file (steps/step-01-*.md)", find: DOCS.step(1), fills: stepOne },
  { name: "step 2's file (steps/step-02-*.md)", find: DOCS.step(2), fills: stepTwo },
  { name: "step 3's file (steps/step-03-*.md)", find: DOCS.step(3), fills: stepThree },
  { name: "Phase 7 PROGRESS.md", find: DOCS.progress, fills: progress },
  { name: "docs/phases/v2/README.md", find: DOCS.readme, fills: readme },
  { name: "docs/phases/v2/CURRENT-STATE.md", find: DOCS.state, fills: currentState },
  { name: "ARCHITECTURE-V2.md", find: DOCS.architecture, fills: architecture },
];

/** A runbook without the lines that name the run and date writing it: what a second write compares. */
const steady = (text: string) => text.replace(/^\*\*Last (Updated|verified)\*?\*?:.*$/gm, "");

const change = (path: string, before: string | null, after: string, why: string): Change => ({
  path,
  before: before ?? "",
  after,
  why,
  diff: createTwoFilesPatch(`a/${path}`, `b/${path}`, before ?? "", after, "", ""),
});

/** The changes to a checkout (its paths relative to its root), the documents not found and the cells with no place. */
export function planPlatform(paths: string[], read: (p: string) => string, input: PlatformInput): PlatformPlan {
  const live = paths.filter((p) => !p.startsWith("docs/archive/")).sort();
  const changes: Change[] = [];
  const unfilled: PlatformPlan["unfilled"] = [];
  for (const d of DOC_FILLS) {
    const path = live.find(d.find);
    if (!path) {
      unfilled.push({ doc: d.name, why: "not in the checkout" });
      continue;
    }
    const before = read(path);
    const r: FillResult = fillAll(before, marked(d.fills(input), input.lab));
    for (const m of r.missing) unfilled.push({ doc: path, why: `no ${m}` });
    if (r.text !== before) changes.push(change(path, before, r.text, `${r.filled} cells and lines measured`));
  }
  for (const b of input.runbooks) {
    const path = `${RUNBOOK_DIR}/${b.file}`;
    const before = live.includes(path) ? read(path) : null;
    if (before === null || steady(before) !== steady(b.text)) changes.push(change(path, before, b.text, "the runbook"));
  }
  const index = live.find(DOCS.index);
  if (!index)
    unfilled.push({ doc: `${RUNBOOK_DIR}/README.md`, why: "not in the checkout: the runbooks are not indexed" });
  else {
    const before = read(index);
    const r = upsertRows(before, {
      header: ["#", "Runbook", "Severity", "MTTR", "Alert"],
      rows: input.runbooks.map((b) => ({
        match: `(${b.file})`,
        cells: {
          Runbook: `[${b.title}](${b.file})`,
          Severity: b.severity === "critical" ? "🔴 Critical" : "🟡 Warning",
          "Response Time": b.severity === "critical" ? "Immediate" : "Business hours",
          MTTR: b.mttr,
          Alert: b.alerts.map((a) => `\`${a}\``).join(", "),
        },
      })),
    });
    for (const m of r.missing) unfilled.push({ doc: index, why: `no ${m}` });
    if (r.text !== before) changes.push(change(index, before, r.text, "the runbooks' rows in the index"));
  }
  return { changes, unfilled };
}
