// Reports from stored runs: a fixture run per notebook (tests/fixtures/runs/<notebook>/<run-id>/,
// so that a refactor that changes what a report says is seen (a difference writes -changed).
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AlertingFetched, alertingSummary, liveFireSummary } from "../lib/alerting/summary.ts";
import { type BurnInFetched, burnInSummary } from "../lib/burnin/summary.ts";
import { type FailureFetched, failureSummary } from "../lib/failure/summary.ts";
import { type HealthFetched, healthSummary } from "../lib/health/summary.ts";
import { type LatencyFetched, latencySummary } from "../lib/latency/summary.ts";
import { type SignoffFetched, signoffSummary } from "../lib/runbooks/summary.ts";
import { openRun } from "../lib/runtime/store.ts";
import type { StepSummary } from "../lib/verdict/status.ts";
import { matchSnapshot, normalise, runCli } from "./helpers.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "runs");
const notebooks = readdirSync(FIXTURES).sort();

/** What changes between two renders of the same stored run: the render time. */
const stable = (s: string) => normalise(s).replace(/rendered \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, "rendered <time>");

/** Each step's summary, the one thing later steps read from its runs. */
const SUMMARIES: Record<string, (id: string) => Promise<StepSummary>> = {
  "00-health": async (id) => healthSummary(await openRun<HealthFetched>("00-health", id)),
  "01-latency": async (id) => latencySummary(await openRun<LatencyFetched>("01-latency", id)),
  "02-burn-in": async (id) => burnInSummary(await openRun<BurnInFetched>("02-burn-in", id)),
  "03-failure-modes": async (id) => failureSummary(await openRun<FailureFetched>("03-failure-modes", id)),
  "04-alerting": async (id) => alertingSummary(await openRun<AlertingFetched>("04-alerting", id)),
  "04-live-fire": async (id) => liveFireSummary(await openRun("04-live-fire", id)),
  "05-runbooks": async (id) => signoffSummary(await openRun<SignoffFetched>("05-runbooks", id)),
};

describe("reports re-rendered from stored fixture runs", () => {
  test("there is a fixture run for every step notebook", () => {
    expect(notebooks).toEqual([
      "00-health",
      "01-latency",
      "02-burn-in",
      "03-failure-modes",
      "04-alerting",
      "04-live-fire",
      "05-runbooks",
      "lab",
    ]);
  });
  const cleanup: string[] = [];
  afterAll(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });
  for (const nb of notebooks)
    test(`${nb} --from its fixture: the same report`, async () => {
      const [runId] = readdirSync(join(FIXTURES, nb));
      const data = mkdtempSync(join(tmpdir(), "k2-runs-data-")),
        out = mkdtempSync(join(tmpdir(), "k2-runs-out-"));
      cpSync(join(FIXTURES, nb), join(data, nb), { recursive: true });
      cleanup.push(data, out);
      const r = await runCli(`notebooks/${nb}.ts`, ["--from", runId!], { K2_DATA_DIR: data, K2_OUT_DIR: out });
      expect(r.stdout).toContain("report:");
      expect([0, 6]).toContain(r.code);
      matchSnapshot(`runs/${nb}.md`, stable(readFileSync(join(out, `${nb}.md`), "utf8")));
      matchSnapshot(`runs/${nb}.html`, stable(readFileSync(join(out, `${nb}.html`), "utf8")));
      const summarise = SUMMARIES[nb];
      if (!summarise) return;
      const before = process.env.K2_DATA_DIR;
      process.env.K2_DATA_DIR = data;
      try {
        const s = await summarise(runId!);
        expect(s.runId).toBe(runId!);
        matchSnapshot(`runs/${nb}.summary.json`, JSON.stringify(s, null, 2) + "\n");
      } finally {
        if (before === undefined) delete process.env.K2_DATA_DIR;
        else process.env.K2_DATA_DIR = before;
      }
    });
});
