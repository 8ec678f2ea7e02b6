// The failure-mode report's parts, from stored results: what the run restored or skipped, the
// step file's table with the milestone gate, and per test its flow, checks and trade classification.

import { THRESHOLDS } from "../k2/thresholds.ts";
import type { Report } from "../report/document.ts";
import { Plot } from "../report/plot.ts";
import { formatDuration } from "../runtime/units.ts";
import { type AlertsSeen, type FailureMeta, failureVerdict, type Result } from "./summary.ts";

/** Before the results: what an interrupted run left and this one restored, and what was skipped. */
export function contextNotes(doc: Report, meta: FailureMeta) {
  if (meta.restored.length)
    for (const r of meta.restored)
      doc.note(
        r.ok ? "INFO" : "FAIL",
        `Before testing, restored what an interrupted run left: ${r.entry.container} was ${r.before} after ` +
          `${r.entry.test} (${r.entry.action}); now ${r.after}${r.error ? ` (${r.error})` : ""}.`,
      );
  if (!meta.docker)
    doc.note(
      "SKIPPED",
      `No Docker engine was reachable: ${meta.skipped.map((s) => s.test).join(", ") || "container actions"} ` +
        `skipped; the consumer-hold analogues ran without their container action. To enable: start Docker or set ` +
        `DOCKER_HOST.`,
    );
  else for (const s of meta.skipped) doc.note("SKIPPED", `${s.test}: ${s.reason}.`);
}

/** The step file's table (MTTR after clearing and from the start), the milestone gate, and recovery per test. */
export function resultsSection(doc: Report, results: Result[], lab: boolean) {
  const { gate } = failureVerdict(results);
  doc.md`## Results`;
  doc.table(
    results.map((r) => ({
      Test: `${r.id}. ${r.title}`,
      "Run Date": r.ranAt.replace("T", " ").slice(0, 19),
      Result: r.status,
      MTTR:
        r.mttrFromStartMs === null
          ? "not recovered"
          : `${(r.mttrFromClearMs! / 1000).toFixed(1)} s after clearing (${(r.mttrFromStartMs / 1000).toFixed(1)} ` +
            `s from the fault's start)`,
      Notes: [lab && r.analogue ? "lab analogue" : "", ...r.notes].filter(Boolean).join("; ") || "all checks passed",
    })),
    ["Test", "Run Date", "Result", "MTTR", "Notes"].map((k) => ({ key: k as "Test", label: k })),
    { caption: "The step file's table: MTTR after clearing the fault (and from its start)", summary: true },
  );
  doc.fact(
    `Milestone gate (every MTTR < ${formatDuration(THRESHOLDS.milestoneMttrMs)} after clearing)`,
    gate.over.length ? `FAIL: ${gate.over.join(", ")}` : gate.status,
  );
  if (results.length)
    doc.figure(
      {
        height: 40 + 30 * results.length,
        marginLeft: 170,
        x: { label: "seconds to recover after clearing the fault", grid: true, type: "log" },
        y: { label: null, domain: results.map((r) => r.title) },
        marks: [
          // bars from 1 s: a log scale has no zero
          Plot.barX(
            results.filter((r) => r.mttrFromClearMs !== null),
            {
              y: "title",
              x1: 0.1,
              x2: (result: Result) => Math.max(0.1, result.mttrFromClearMs! / 1000),
              fill: (result: Result) => (result.status === "PASS" ? "#1a7f37" : "#cf222e"),
            },
          ),
          Plot.tickX(results, {
            y: "title",
            x: (result: Result) => result.targetMs / 1000,
            stroke: "#1b1f24",
            strokeWidth: 2,
          }),
          Plot.ruleX([THRESHOLDS.milestoneMttrMs / 1000], { stroke: "#9a6700", strokeDasharray: "4,3" }),
        ],
      },
      "Recovery after clearing per test (bars) against its target (black ticks) and the " +
        `${THRESHOLDS.milestoneMttrMs / 1000} s milestone gate (dashed).`,
    );
}

/** One test: its flow per exchange through the fault, its checks, and every trade in its window classified. */
export function testSection(doc: Report, result: Result, lab: boolean) {
  doc.md`### ${result.id}. ${result.title}: ${result.status}`;
  if (lab && result.analogue) doc.note("INFO", `Ran as a lab analogue: ${result.analogue}.`);
  const flow = result.ticks.flatMap((k) =>
    Object.entries(k.flow).map(([exchange, n]) => ({ s: k.t / 1000, exchange, n })),
  );
  doc.figure(
    {
      height: 170,
      marginLeft: 45,
      x: { label: "seconds since the fault started" },
      y: { label: "trades landed / s", grid: true },
      color: { legend: true },
      marks: [
        Plot.rectX([{ a: 0, b: result.clearedAt / 1000 }], { x1: "a", x2: "b", fill: "#cf222e", fillOpacity: 0.1 }),
        Plot.lineY(flow, { x: "s", y: "n", stroke: "exchange" }),
        ...(result.recoveredAt !== null
          ? [
              Plot.ruleX([result.recoveredAt / 1000], { stroke: "#1a7f37", strokeWidth: 2 }),
              Plot.text([result.recoveredAt / 1000], {
                x: (d: number) => d,
                frameAnchor: "top",
                dx: 4,
                textAnchor: "start",
                text: () => "recovered",
              }),
            ]
          : []),
        Plot.ruleY([0]),
      ],
    },
    `Flow per exchange at 1 s; shaded: the fault (${result.action} ${result.container}); green: recovery.`,
  );
  doc.table(result.checks, [
    { key: "name", label: "Check" },
    { key: "status", label: "Status" },
    { key: "detail", label: "Detail" },
  ]);
  if (result.loss)
    doc.table(
      Object.entries(result.loss).map(([exchange, l]) => ({ exchange, ...l })),
      [
        { key: "exchange", label: "Exchange" },
        { key: "landed", label: "Landed", align: "right" },
        { key: "lost", label: "Lost", align: "right" },
        { key: "duplicated", label: "Duplicated", align: "right" },
        { key: "late", label: "Late", align: "right" },
      ],
      { caption: `Every trade in the test's window, classified ${result.lossHow ?? "against the lab's ground truth"}` },
    );
  if (result.lossBySymbol?.length)
    doc.table(
      result.lossBySymbol,
      [
        { key: "exchange", label: "Exchange" },
        { key: "symbol", label: "Symbol" },
        { key: "lost", label: "Lost", align: "right" },
        { key: "duplicated", label: "Duplicated", align: "right" },
        { key: "late", label: "Late", align: "right" },
      ],
      { caption: "Symbols with any trade not landed once and on time" },
    );
  if (!result.restore.ok)
    doc.note(
      "FAIL",
      `The fault could not be cleared after ${result.restore.attempts} attempts (${result.restore.error}): check ` +
        `${result.container} by hand.`,
    );
}

/** Step 4 meets step 3: for each test, the alerts that fired from its fault's start, and how long after. */
export function alertsSection(doc: Report, results: Result[], seen: AlertsSeen | undefined) {
  if (!seen) return;
  doc.md`## Alerts during the tests`;
  if ("unavailable" in seen) return void doc.note("NOT RUN", seen.unavailable);
  doc.table(
    results.map((r) => ({
      test: `${r.id}. ${r.title}`,
      alerts:
        (seen.byTest[r.test] ?? []).map((a) => `${a.alert} after ${(a.afterMs / 1000).toFixed(0)} s`).join(", ") ||
        "none",
    })),
    [
      { key: "test", label: "Test" },
      { key: "alerts", label: "Alerts that fired (from the fault's start)" },
    ],
    { caption: `Alerts that fired during each test (${seen.prometheus})`, summary: true },
  );
}
