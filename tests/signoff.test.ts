// Step 5 and the sign-off, pure parts: evidence freshness, the docs blocks between markers, the PR body's limit, the
// figures picked for PNG, the runbook checks; then the notebook on stored fixture runs (NOT RUN, stale, failed, a newer
// format refused, --gate, --write twice) and the drill on the lab.
import { describe, expect, test } from "bun:test";
import { staleness } from "../lib/runbooks/evidence.ts";
import { spliceBlock, planDocs, locate, type DocBlock } from "../lib/runbooks/docs.ts";
import { prBody, figuresOf, type BundleStep } from "../lib/runbooks/bundle.ts";
import { runbooks, K2_NAMES } from "../lib/runbooks/catalog.ts";
import { checkTexts } from "../lib/runbooks/checks.ts";
import { renderRunbook, SECTIONS } from "../lib/runbooks/render.ts";

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
    // a burn-in is compared with the Docker engine, generated files with nothing
    expect(staleness(run(1, fresh.docker, "docker"), fresh)).toBeUndefined();
    expect(staleness(run(1, "Docker engine at tcp://other", "docker"), { ...fresh, docker: null })).toContain(
      "not no Docker engine",
    );
    expect(staleness(run(1, "generated rules and dashboard", "files"), fresh)).toBeUndefined();
  });
});

describe("docs blocks between markers", () => {
  const block: DocBlock = { doc: "ARCHITECTURE-V2.md", name: "phase7-resources", body: "| a |\n|---|\n| 1 |" };
  const marked =
    "# Arch\n\nintro\n\n<!-- k2-hardening:begin phase7-resources -->\nold\n<!-- k2-hardening:end phase7-resources -->\n\ntail\n";
  test("replaced between its markers, the rest untouched, idempotently", () => {
    const once = spliceBlock(marked, block, false)!;
    expect(once).toBe(marked.replace("old", block.body));
    expect(spliceBlock(once, block, false)).toBe(once);
  });
  test("no markers: left alone unless --append, which adds them at the end", () => {
    expect(spliceBlock("# Arch\n\ntext\n", block, false)).toBeNull();
    const appended = spliceBlock("# Arch\n\ntext\n", block, true)!;
    expect(appended).toBe(
      "# Arch\n\ntext\n\n<!-- k2-hardening:begin phase7-resources -->\n| a |\n|---|\n| 1 |\n" +
        "<!-- k2-hardening:end phase7-resources -->\n",
    );
    expect(spliceBlock(appended, block, true)).toBe(appended);
  });
  test("documents found by name; PROGRESS.md only in a phase 7 folder; a file without markers skipped by name", () => {
    const paths = [
      "docs/architecture/ARCHITECTURE-V2.md",
      "docs/phases/phase-6/PROGRESS.md",
      "docs/phases/phase-7/PROGRESS.md",
      "v2/README.md",
    ];
    expect(locate("PROGRESS.md", paths)).toBe("docs/phases/phase-7/PROGRESS.md");
    expect(locate("v2/README.md", paths)).toBe("v2/README.md");
    expect(locate("CURRENT-STATE.md", paths)).toBeUndefined();
    const files: Record<string, string> = {
      "docs/architecture/ARCHITECTURE-V2.md": marked,
      "docs/phases/phase-7/PROGRESS.md": "# P\n",
    };
    const plan = planDocs(
      Object.keys(files),
      (p) => files[p]!,
      [
        block,
        { doc: "PROGRESS.md", name: "phase7-progress", body: "x" },
        { doc: "CURRENT-STATE.md", name: "s", body: "y" },
      ],
      false,
    );
    expect(plan.changes.map((c) => c.path)).toEqual(["docs/architecture/ARCHITECTURE-V2.md"]);
    expect(plan.changes[0]!.diff).toContain("+| a |");
    expect(plan.skipped.map((s) => s.doc)).toEqual(["docs/phases/phase-7/PROGRESS.md", "CURRENT-STATE.md"]);
    expect(plan.skipped[0]!.why).toContain("<!-- k2-hardening:begin phase7-progress -->");
  });
});

describe("the PR body and the figures", () => {
  const step = (notebook: string, chars: number): BundleStep => ({
    notebook,
    step: 1,
    title: notebook,
    status: "PASS",
    headline: "ok",
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
      "minio-unavailable: five sections: missing: Prevention",
      "minio-unavailable: runbook_url of IcebergOffloadFailure: docs/operations/runbooks/minio-unavailable-runbook.md is not a complete runbook",
    ]);
  });
});
