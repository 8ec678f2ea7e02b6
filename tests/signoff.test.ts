// Step 5 and the sign-off, pure parts: evidence freshness, filling a document's own tables, the PR body's limit, the
// figures picked for PNG, the runbook checks; then the notebook on stored fixture runs (NOT RUN, stale, failed, a newer
// format refused, --gate, --write twice) and the drill on the lab.

import { describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BundleStep, figuresOf, phaseAnswer, prBody } from "../lib/runbooks/bundle.ts";
import { K2_NAMES, runbooks } from "../lib/runbooks/catalog.ts";
import { checkTexts } from "../lib/runbooks/checks.ts";
import { staleness } from "../lib/runbooks/evidence.ts";
import { fillAll, fillLabel, fillTable, upsertRows } from "../lib/runbooks/fill.ts";
import { renderRunbook, SECTIONS } from "../lib/runbooks/render.ts";
import { labEngineName } from "../lib/runtime/paths.ts";
import { ensureDockerEngine, runCli, tempDir } from "./helpers.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-11-30T12:00:00Z");
const fresh = {
  nowMs: NOW,
  maxAgeMs: 7 * DAY,
  clickhouse: "embedded chdb at /x/lab-engine",
  docker: "Docker engine at unix:///s",
};

describe("evidence freshness", () => {
  test("older than the limit, or from another target of its kind, never current", () => {
    const run = (daysAgo: number, target: string, targetKind: string) => ({
      createdAt: new Date(NOW - daysAgo * DAY).toISOString(),
      target,
      targetKind,
    });
    expect(staleness(run(1, fresh.clickhouse, "embedded"), fresh)).toBeUndefined();
    expect(staleness(run(8, fresh.clickhouse, "embedded"), fresh)).toBe("stale: 8.0 days old, over the 7.0 days limit");
    expect(staleness(run(1, "embedded chdb at /y", "embedded"), fresh)).toBe(
      "from another target (embedded chdb at /y, not embedded chdb at /x/lab-engine)",
    );
    // another of the lab's folders (a step the main job ran beside another) is the lab; another data folder's is not
    expect(staleness(run(1, "embedded chdb at /x/lab-engine-04-live-fire", "embedded"), fresh)).toBeUndefined();
    expect(staleness(run(1, "embedded chdb at /y/lab-engine-04-live-fire", "embedded"), fresh)).toContain("another");
    expect(labEngineName(undefined)).toBe("lab-engine");
    expect(() => labEngineName("../elsewhere")).toThrow('invalid K2_LAB_ENGINE: "../elsewhere"');
    // a burn-in is compared with the Docker engine, generated files with nothing
    expect(staleness(run(1, fresh.docker, "docker"), fresh)).toBeUndefined();
    expect(staleness(run(1, "Docker engine at tcp://other", "docker"), { ...fresh, docker: null })).toContain(
      "no Docker engine is reachable now to compare",
    );
    expect(staleness(run(1, "generated rules and dashboard", "files"), fresh)).toBeUndefined();
  });
});

describe("filling a document's own tables", () => {
  const doc =
    "# Step\r\n\r\n**Status:** ⬜ Not Started\r\n\r\n## Results (to fill in)\r\n\r\n" +
    "| Scenario | p50 | p99 | Max | Notes |\r\n|----------|-----|-----|-----|-------|\r\n" +
    "| 1x baseline | -- | -- | -- | |\r\n| 10x stress | -- | -- | -- | |\r\n\r\n**Tuning applied:** --\r\n";
  test("cells by header and row name; every other byte kept, CRLF endings included; a second fill the same", () => {
    const fills = [
      { table: { header: ["Scenario", "p99", "Notes"], cells: [{ row: "1x", column: "p99", value: "120 ms" }] } },
      { table: { header: ["Scenario", "Max"], cells: [{ row: "10x", column: "Notes", value: "a | b" }] } },
      { label: { label: "Tuning applied", value: "none" } },
      { label: { label: "Status", value: "✅ PASS" } },
    ];
    const once = fillAll(doc, fills);
    expect(once.missing).toEqual([]);
    expect(once.text).toBe(
      doc
        .replace("| 1x baseline | -- | -- |", "| 1x baseline | -- | 120 ms |")
        .replace("| 10x stress | -- | -- | -- | |", "| 10x stress | -- | -- | -- | a \\| b |")
        .replace("**Tuning applied:** --", "**Tuning applied:** none")
        .replace("**Status:** ⬜ Not Started", "**Status:** ✅ PASS"),
    );
    expect(fillAll(once.text, fills).text).toBe(once.text);
  });
  test("a row, a column or a table the document lacks is named, and nothing changes", () => {
    const r = fillTable(doc, { header: ["Scenario", "p99"], cells: [{ row: "5x", column: "p99", value: "1" }] });
    expect([r.text, r.missing]).toEqual([doc, ["row 5x of | Scenario | p99 |"]]);
    expect(fillTable(doc, { header: ["Test"], cells: [] }).missing).toEqual(["the table | Test |"]);
    expect(fillLabel(doc, { label: "Run date", value: "x" }).missing).toEqual(['the line "Run date:"']);
  });
  test("rows by normalised name (numbering, code, links, bold), within a section; annotate keeps the plan", () => {
    const t =
      "## A\n\n| Step | Status |\n|---|---|\n| 1 | -- |\n\n## B\n\n| Step | Status |\n|---|---|\n| 1 | -- |\n" +
      "| `redpanda` | -- |\n| [7](x/README.md) | -- |\n| **Total** | -- |\n| 4. Offload failure | -- |\n";
    const cells = ["1", "redpanda", "7", "Total", "offload-failure"].map((row) => ({
      row,
      column: "Status",
      value: "ok",
    }));
    const r = fillTable(t, { section: "B", header: ["Step", "Status"], cells });
    expect(r.missing).toEqual([]);
    expect(r.text.split("## B")[0]).toBe(t.split("## B")[0]!);
    expect(r.text.split("## B")[1]!.match(/\| ok \|/g)!.length).toBe(5);
    const v = "| Metric | v2 |\n|---|---|\n| CPU (limits) | 15.5 cores |\n";
    const a = fillTable(v, {
      header: ["Metric", "v2"],
      cells: [{ row: "CPU", column: "v2", value: "3.1", annotate: true }],
    });
    expect(a.text).toContain("| 15.5 cores (measured 3.1) |");
    const b = fillTable(a.text, {
      header: ["Metric"],
      cells: [{ row: "CPU", column: "v2", value: "2.0", annotate: true }],
    });
    expect(b.text).toContain("| 15.5 cores (measured 2.0) |");
  });
  test("index rows: found by the file they link and refilled, else appended numbered on", () => {
    const idx = "| # | Runbook | MTTR |\n|---|---|---|\n| 1 | [Old](old.md) | 5 min |\n\nAfter.\n";
    const spec = {
      header: ["#", "Runbook", "MTTR"],
      rows: [{ match: "(new.md)", cells: { Runbook: "[New](new.md)" } }],
    };
    const once = upsertRows(idx, spec);
    expect(once.text).toBe(idx.replace("5 min |\n", "5 min |\n| 2 | [New](new.md) | |\n"));
    expect(upsertRows(once.text, spec).text).toBe(once.text);
  });
});

describe("the PR body and the figures", () => {
  const step = (notebook: string, chars: number): BundleStep => ({
    notebook,
    step: 1,
    title: notebook,
    status: "PASS",
    headline: "ok",
    criteria: [],
    run: null,
    markdown: "x".repeat(chars),
  });
  test("under the limit whole; over it, the largest sections cut first, and said", () => {
    const small = prBody([step("a", 100), step("b", 200)]);
    expect(small.cut).toEqual([]);
    expect(small.text).toContain("<details><summary>b: PASS</summary>");
    const big = prBody([step("a", 30_000), step("b", 50_000), step("c", 10_000)]);
    expect(big.cut).toEqual(["b"]);
    expect(big.text.length).toBeLessThanOrEqual(65_536);
    expect(big.text).toContain("Cut to fit GitHub's 65,536-character limit: b");
    expect(big.text).toContain("x".repeat(30_000));
  });
  test("the index's answer: tag only when every criterion PASSes on a stack; what is open, one line each", () => {
    const run = (measured: "lab" | "stack") => ({ runId: "r", createdAt: "2026-12-01", target: "t", measured });
    const pass = { criterion: "p99 < 200 ms", status: "PASS" as const, evidence: "p99 120 ms over 900 trades" };
    const stack: BundleStep[] = [
      { ...step("01-latency", 0), criteria: [pass], run: run("stack") },
      { ...step("00-health", 0), step: 0, run: run("stack") },
    ];
    expect(phaseAnswer(stack)).toMatchObject({ tag: true, open: [] });
    expect(phaseAnswer(stack).answer).toBe(
      "Yes: every criterion of steps 0 to 5 PASSes on runs of the stack. Tag " + "v2-phase-7-complete.",
    );
    // the same figures measured on the lab do not tag the phase
    const lab = stack.map((s) => ({ ...s, run: run("lab") }));
    expect(phaseAnswer(lab).tag).toBe(false);
    expect(phaseAnswer(lab).answer).toContain("the runs of steps 1, 0 measured the lab, not a stack");
    // a failing criterion, with its evidence cut at the first "; ", and a step without a run
    const fail = { criterion: "5x: p99 < 500 ms", status: "FAIL" as const, evidence: "p99 572 ms; 1236 trades. More" };
    const open = phaseAnswer([
      { ...stack[0]!, criteria: [pass, fail] },
      { ...step("02-burn-in", 0), step: 2, status: "NOT RUN", problem: "no stored run: bun notebooks/02-burn-in.ts" },
    ]);
    expect(open.open).toEqual([
      { step: 1, title: "01-latency", criterion: "5x: p99 < 500 ms", status: "FAIL", reason: "p99 572 ms" },
      {
        step: 2,
        title: "02-burn-in",
        criterion: "a current stored run",
        status: "NOT RUN",
        reason: "no stored run: bun notebooks/02-burn-in.ts",
      },
    ]);
    expect(open.answer).toBe(
      "Not yet: 2 of 3 criteria are not PASS. Tag v2-phase-7-complete once they PASS on the stack.",
    );
    expect(prBody([{ ...stack[0]!, criteria: [pass, fail] }]).text).toContain(
      "- **FAIL** step 1 · 5x: p99 < 500 ms: p99 572 ms\n",
    );
  });
  test("each figure's largest SVG (the chart, not a legend swatch)", () => {
    const fig =
      '<figure><div><svg width="15" height="15">s</svg></div><svg width="640" height="300">chart</svg></figure>';
    expect(figuresOf(`<p>a</p>${fig}${fig}`)).toEqual([
      '<svg width="640" height="300">chart</svg>',
      '<svg width="640" height="300">chart</svg>',
    ]);
  });
});

describe("runbooks checked", () => {
  const books = runbooks(K2_NAMES);
  const evidence = {
    fired: [],
    stepThree: null,
    drill: null,
    budgets: [],
    bottleneck: null,
    warnings: ["x"],
    verified: { runId: "r", date: "2026-11-30", target: "t" },
  };
  test("the watermarks where the offload writes them: the Prefect DB's on a stack, ClickHouse's on the lab", () => {
    const diagnosis = (n: typeof K2_NAMES) =>
      runbooks(n)
        .find((b) => b.name === "minio-unavailable")!
        .diagnosis.map((c) => ("shell" in c ? c.shell : c.sql))
        .join("\n");
    expect(diagnosis(K2_NAMES)).toContain('docker exec k2-prefect-db psql -U prefect -d prefect -c "SELECT table_name');
    expect(diagnosis(K2_NAMES)).not.toContain("k2.offload_watermarks");
    expect(diagnosis({ ...K2_NAMES, watermarks: "clickhouse" })).toContain("FROM k2.offload_watermarks FINAL");
  });
  test("five runbooks with the platform's names and five sections; every critical alert links to one", () => {
    expect(books.map((b) => b.file)).toEqual([
      "feed-handler-crash-runbook.md",
      "clickhouse-unavailable-runbook.md",
      "redpanda-restart-runbook.md",
      "silver-mv-stall-runbook.md",
      "minio-unavailable-runbook.md",
    ]);
    const texts = Object.fromEntries(books.map((b) => [b.file, renderRunbook(b, evidence)]));
    for (const t of Object.values(texts)) for (const s of SECTIONS) expect(t).toContain(`\n## ${s}\n`);
    expect(texts["feed-handler-crash-runbook.md"]).toContain("> **Evidence incomplete:** x.");
    const checks = checkTexts(books, texts);
    expect(checks.filter((c) => c.status !== "PASS")).toEqual([]);
    expect(checks.filter((c) => c.check.startsWith("runbook_url")).map((c) => c.check)).toEqual([
      "runbook_url of FeedHandlerDown",
      "runbook_url of ClickHouseBronzeInsertFailure",
      "runbook_url of IcebergOffloadFailure",
      "runbook_url of ServiceOOMKill",
    ]);
  });
  test("a runbook missing a section fails, and so does the link of the alert that points at it", () => {
    const texts = Object.fromEntries(books.map((b) => [b.file, renderRunbook(b, evidence)]));
    texts["minio-unavailable-runbook.md"] = texts["minio-unavailable-runbook.md"]!.replace("## Prevention", "## Later");
    const bad = checkTexts(books, texts).filter((c) => c.status === "FAIL");
    expect(bad.map((c) => `${c.runbook}: ${c.check}: ${c.detail}`)).toEqual([
      "minio-unavailable: template sections: missing: Prevention",
      "minio-unavailable: runbook_url of IcebergOffloadFailure: " +
        "docs/operations/runbooks/minio-unavailable-runbook.md is not a complete runbook",
    ]);
  });
});

// ---- the notebook on stored runs ----
const FIXTURES = join(import.meta.dir, "fixtures", "runs");
const PLATFORM = join(import.meta.dir, "fixtures", "platform");
const P7 = "docs/phases/v2/phase-7-integration-hardening";
const RUNBOOKS = "docs/operations/runbooks";
const NO_DOCKER = "unix:///nonexistent.sock";

/** A data folder holding the fixture runs of `steps`, as if measured an hour ago on this folder's lab. */
function dataWith(steps: string[]) {
  const dir = tempDir("k2-signoff-");
  const data = join(dir, "data");
  for (const nb of steps) {
    cpSync(join(FIXTURES, nb), join(data, nb), { recursive: true });
    for (const id of readdirSync(join(data, nb))) {
      const path = join(data, nb, id, "manifest.json");
      const m = JSON.parse(readFileSync(path, "utf8"));
      m.createdAt = new Date(Date.now() - 3_600_000).toISOString();
      if (m.target?.kind === "embedded") m.target.label = `embedded chdb at ${join(data, "lab-engine")}`;
      if (m.target?.kind === "docker") m.target.label = "Docker engine at unix:///var/run/docker.sock";
      writeFileSync(path, JSON.stringify(m, null, 2));
    }
  }
  return { K2_DATA_DIR: data, K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: NO_DOCKER };
}
const runOf = (env: { K2_DATA_DIR: string }, nb: string) =>
  join(env.K2_DATA_DIR, nb, readdirSync(join(env.K2_DATA_DIR, nb))[0]!);
const checklistRow = (md: string, criterion: string) => md.split("\n").find((l) => l.includes(`| ${criterion}`)) ?? "";

describe("the sign-off on stored runs", () => {
  test("NOT RUN with its command, PASS when current, a failed step FAIL, --gate 6, newer formats refused", async () => {
    const env = dataWith(["00-health", "01-latency", "02-burn-in", "03-failure-modes", "04-alerting"]);
    const r = await runCli("notebooks/05-runbooks.ts", ["--skip-drill"], env);
    expect(r.stderr).not.toContain("    at ");
    const md = readFileSync(join(env.K2_OUT_DIR, "05-runbooks.md"), "utf8");
    expect(checklistRow(md, "Alerts fired live: a stored run")).toContain(
      "NOT RUN | no stored run: bun notebooks/04-live-fire.ts makes one",
    );
    expect(checklistRow(md, "3. ClickHouse restart")).toMatch(/\| 3 \| 3\. ClickHouse restart.* \| PASS \|/);
    expect(checklistRow(md, "5. MinIO unavailable")).toContain("| NOT RUN | not in this run |");
    expect(checklistRow(md, "Each runbook recovers in a drill")).toContain("NOT RUN | --skip-drill");
    // the five runbooks, each saying its evidence is incomplete (no live fire, no drill)
    for (const f of [
      "feed-handler-crash",
      "clickhouse-unavailable",
      "redpanda-restart",
      "silver-mv-stall",
      "minio-unavailable",
    ])
      expect(readFileSync(join(env.K2_OUT_DIR, "05-runbooks", `${f}-runbook.md`), "utf8")).toContain(
        "**Evidence incomplete:**",
      );
    // one deliberately failed step: a failure test that did not recover
    const results = join(runOf(env, "03-failure-modes"), "results.json");
    const failed = JSON.parse(readFileSync(results, "utf8"));
    failed[0].status = "FAIL";
    writeFileSync(results, JSON.stringify(failed));
    const gate = await runCli("notebooks/05-runbooks.ts", ["--skip-drill", "--gate"], env);
    expect(gate.code).toBe(6);
    const md2 = readFileSync(join(env.K2_OUT_DIR, "05-runbooks.md"), "utf8");
    expect(checklistRow(md2, "1. Feed handler crash")).toMatch(/\| FAIL \|/);
    // a run written by a newer version: refused by name, never mis-read
    const manifest = join(runOf(env, "01-latency"), "manifest.json");
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, "utf8")), format: 99 }));
    await runCli("notebooks/05-runbooks.ts", ["--skip-drill"], env);
    const md3 = readFileSync(join(env.K2_OUT_DIR, "05-runbooks.md"), "utf8");
    expect(checklistRow(md3, "Latency benchmark: a stored run")).toContain(
      "UNRESOLVED | run " +
        readdirSync(join(env.K2_DATA_DIR, "01-latency"))[0] +
        " of 01-latency cannot be read (store format 99, from a newer k2-hardening",
    );
  }, 180_000);

  test("evidence from another target, or too old, never passes", async () => {
    const env = dataWith(["03-failure-modes"]);
    const r = await runCli("notebooks/05-runbooks.ts", ["--skip-drill", "--max-age", "30m"], env);
    expect(r.code).toBe(0);
    const md = readFileSync(join(env.K2_OUT_DIR, "05-runbooks.md"), "utf8");
    expect(checklistRow(md, "3. ClickHouse restart")).toMatch(
      // an hour old when written; a busy machine may take a few seconds more to read it
      /UNRESOLVED \| .*\(stale: 60\.\d min old, over the 30\.0 min limit\)/,
    );
    // measured on another lab folder: never current either
    const other = dataWith(["03-failure-modes"]);
    const m = join(runOf(other, "03-failure-modes"), "manifest.json");
    const manifest = JSON.parse(readFileSync(m, "utf8"));
    writeFileSync(
      m,
      JSON.stringify({ ...manifest, target: { ...manifest.target, label: "embedded chdb at /elsewhere" } }),
    );
    await runCli("notebooks/05-runbooks.ts", ["--skip-drill"], other);
    const md2 = readFileSync(join(other.K2_OUT_DIR, "05-runbooks.md"), "utf8");
    expect(checklistRow(md2, "3. ClickHouse restart")).toContain(
      "(from another target (embedded chdb at /elsewhere, not embedded chdb at " +
        `${join(other.K2_DATA_DIR, "lab-engine")}))`,
    );
  }, 120_000);

  test("--write <checkout>: own tables filled in place, runbooks indexed, lab refused; again: no change", async () => {
    const env = dataWith(["01-latency", "02-burn-in", "03-failure-modes"]);
    const co = join(tempDir("k2-checkout-"), "k2-market-data-platform");
    cpSync(PLATFORM, co, { recursive: true });
    const read = (root: string, p: string) => readFileSync(join(root, p), "utf8");
    // the evidence is the lab's: refused by name, nothing written
    const refused = await runCli("notebooks/05-runbooks.ts", ["--skip-drill", "--write", co], env);
    expect([refused.code, refused.stderr.trim()]).toEqual([
      2,
      `05-runbooks: error: --write ${co}: this sign-off reads the lab's evidence, not a stack's; a checkout records ` +
        'stack results (run it against the stack, or pass --include-lab to write the lab\'s marked "(lab)")',
    ]);
    expect(read(co, `${P7}/PROGRESS.md`)).toBe(read(PLATFORM, `${P7}/PROGRESS.md`));
    const r = await runCli("notebooks/05-runbooks.ts", ["--skip-drill", "--write", co, "--include-lab"], env);
    expect(r.code).toBe(0);
    // every document changes only in the lines that hold the cells it asks to have filled, line count and order kept
    const docs = [
      `${P7}/steps/step-01-latency-benchmark.md`,
      `${P7}/steps/step-02-resource-validation.md`,
      `${P7}/steps/step-03-failure-mode-testing.md`,
      `${P7}/PROGRESS.md`,
      "docs/phases/v2/README.md",
      "docs/phases/v2/CURRENT-STATE.md",
      "docs/decisions/platform-v2/ARCHITECTURE-V2.md",
    ];
    for (const d of docs) {
      expect(r.stdout).toContain(`+++ b/${d}`);
      const [before, after] = [read(PLATFORM, d).split("\n"), read(co, d).split("\n")];
      expect([d, after.length]).toEqual([d, before.length]);
      const changed = after.filter((l, i) => l !== before[i]);
      for (const l of changed) expect([d, /^\|.*\|$|^\*\*[^*]+:\*\* |^Run date: /.test(l)]).toEqual([d, true]);
      for (const l of changed) expect(l).toContain("(lab)");
    }
    const step1 = read(co, docs[0]!);
    expect(step1).toMatch(/^\| 1x baseline \| \d+ ms \(lab\) \| \d+ ms \(lab\) \| \d+ ms \(lab\) \| FAIL: \d+ trades/m);
    expect(step1).toContain("**Bottleneck identified:** Redpanda → Kafka engine: p99 ");
    expect(step1).toMatch(/^\| 10x stress \| -- \| -- \| -- \| NOT RUN: not in run .* \(lab\) \|$/m);
    expect(step1).toContain("## Related\n\n- a link that must survive: [Phase 7](../README.md)\n");
    expect(read(co, docs[1]!)).toMatch(/^Run date: \d{4}-\d\d-\d\d \(02-burn-in run .*\) \(lab\)$/m);
    expect(read(co, docs[1]!)).toMatch(
      /^\| `clickhouse` \| 4\.0 \| \d+\.\d\d \(lab\) \| 8GB \| [\d.]+MB \(lab\) \| ✅ PASS/m,
    );
    // step 3's rows matched by test name, in the platform's own numbering
    expect(read(co, docs[2]!)).toMatch(/^\| 3\. Feed handler crash \| [\d-]+ \(lab\) \| ✅ PASS \(lab\) \| /m);
    expect(read(co, docs[2]!)).toMatch(/^\| 4\. Offload failure \| -- \| ⬜ NOT RUN \(lab\) \| -- \| not in run /m);
    const progress = read(co, docs[3]!);
    expect(progress).toContain("**Progress:** 1/5 steps (20%) (lab)");
    expect(progress).toMatch(/^\| 4 \| Monitoring \| ⬜ NOT RUN \(lab\) \| -- \(lab\) \|/m);
    expect(progress).toMatch(/^\| \*\*Total\*\* \| \*\*< 11ms\*\* \| p99 \d+\.\d ms \(lab\) \|/m);
    expect(progress).toMatch(/^\| Silver Processor crash \| 10s \| n\/a: not a v2 service \(lab\) \| -- \|/m);
    expect(progress).toMatch(/^\| ClickHouse restart \| 15s \| \d+\.\d s \(lab\) \| none \(lab\) \| ✅ PASS/m);
    expect(progress).toContain("| None | -- | -- | -- |"); // the blockers table is not ours
    expect(read(co, docs[4]!)).toMatch(
      /^\| \[7\]\(phase-7-integration-hardening\/README\.md\) \| .* \| 🟡 \*\*IN PROGRESS\*\* - 1\/5/m,
    );
    expect(read(co, docs[4]!)).toMatch(
      /^\| Phase 7 \(hardened\) \| ~15\.5 \(measured ≤ [\d.]+ \(sum of p99s[^|]*\(lab\)\) \|/m,
    );
    expect(read(co, docs[5]!)).toMatch(/^\| Phase 7 \| Integration Hardening \| 🟡 In progress: 1\/5 steps pass/m);
    expect(read(co, docs[6]!)).toMatch(
      /^\| CPU \(limits\) \| 35-40 cores \| 15\.5 cores \(measured CPU ≤ \d+\.\d\d \(sum of p99s/m,
    );
    // the runbooks in the platform's template, added to its index after its own rows; the rest untouched
    const book = read(co, `${RUNBOOKS}/minio-unavailable-runbook.md`);
    expect(book.startsWith("# Runbook: MinIO unavailable\n\n**Severity**: Critical  \n**Last Updated**: ")).toBe(true);
    for (const s of SECTIONS) expect(book).toContain(`\n## ${s}\n`);
    expect(book).toContain("\n### Step 1: ");
    const index = read(co, `${RUNBOOKS}/README.md`);
    expect(index.match(/^\| \d \| \[[^\]]+\]\([a-z-]+\.md\) \|/gm)!.map((l) => l.split(" | ")[0])).toEqual([
      "| 1",
      "| 2",
      "| 3",
      "| 4",
      "| 5",
      "| 6",
    ]);
    expect(index).toContain(
      "| 6 | [MinIO unavailable](minio-unavailable-runbook.md) | 🔴 Critical | Immediate | < 5.0 min |",
    );
    expect(index.endsWith("## More\n\nText after the index stays.\n")).toBe(true);
    for (const f of [
      "docs/archive/v1-phases/phase-7-e2e/PROGRESS.md",
      `${RUNBOOKS}/iceberg-offload-failure.md`,
      `${P7}/README.md`,
      "docker-compose.v2.yml",
    ])
      expect([f, read(co, f)]).toEqual([f, read(PLATFORM, f)]);
    // what the documents have no place for is said, not an error
    expect(r.stderr).toContain("not filled: ");
    const snapshot = Object.fromEntries([...new Bun.Glob("**/*").scanSync({ cwd: co })].map((f) => [f, read(co, f)]));
    const again = await runCli("notebooks/05-runbooks.ts", ["--skip-drill", "--write", co, "--include-lab"], env);
    expect([again.code, again.stdout]).not.toContain("+++ b/");
    expect(again.stderr).toContain(`wrote 0 files into ${co}`);
    for (const [f, text] of Object.entries(snapshot)) expect([f, read(co, f)]).toEqual([f, text]);
    const bad = await runCli("notebooks/05-runbooks.ts", ["--skip-drill", "--write", join(co, "docs")], env);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      `05-runbooks: error: invalid --write: "${join(co, "docs")}" has no docs/ folder (give the platform checkout's ` +
        "root, not its docs)",
    ]);
  }, 180_000);
});

test("the drill on the lab: each runbook's fault applied, its resolution followed for real, in time", async () => {
  const host = await ensureDockerEngine();
  const dir = tempDir("k2-drill-");
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: host };
  const r = await runCli("notebooks/05-runbooks.ts", [], env);
  expect(r.stderr).not.toContain("    at ");
  const [run] = readdirSync(join(env.K2_DATA_DIR, "05-runbooks"));
  const rec = JSON.parse(readFileSync(join(env.K2_DATA_DIR, "05-runbooks", run!, "signoff.json"), "utf8"));
  expect(rec.drills.map((d: { runbook: string; status: string }) => `${d.runbook} ${d.status}`)).toEqual([
    "feed-handler-crash PASS",
    "clickhouse-unavailable PASS",
    "redpanda-restart PASS",
    "silver-mv-stall PASS",
    "minio-unavailable PASS",
  ]);
  for (const d of rec.drills) {
    // seen failing before recovered, within the runbook's target; every unconditional step ran and succeeded
    expect(d.detectedMs).toBeLessThan(d.recoveredMs);
    expect(d.recoveredMs).toBeLessThan(5 * 60_000);
    expect(d.steps.filter((s: { ran: boolean; ok: boolean }) => s.ran && !s.ok)).toEqual([]);
  }
  expect(rec.commands.every((c: { status: string }) => c.status === "PASS")).toBe(true);
  // every fault cleared: the journal empty, the lab's containers running and connected
  expect(JSON.parse(readFileSync(join(env.K2_DATA_DIR, "03-failure-modes", "journal.json"), "utf8"))).toEqual([]);
}, 300_000);
