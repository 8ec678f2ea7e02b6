// bun run bundle: out/index.html, out/pr.md and out/png/ from the stored runs and the reports in out/ (the main job
// writes them too, after its notebooks).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { describeTarget, targetFromEnv } from "../io/clickhouse.ts";
import { dockerLabel, probeDocker } from "../io/docker.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { firstLine, K2Error } from "../runtime/errors.ts";
import { writeAtomic } from "../runtime/fsx.ts";
import { outDir } from "../runtime/paths.ts";
import { type BundleIo, writeBundle } from "./bundle.ts";
import { readEvidence, STEPS, step } from "./evidence.ts";
import { type SignoffFetched, signoffSummary } from "./summary.ts";

export const BUNDLE_STEPS = [...STEPS, step<SignoffFetched>("05-runbooks", 5, "Runbooks and sign-off", signoffSummary)];

export const outIo = (dir = outDir()): BundleIo => ({
  read: (name) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : null),
  write: (name, data) => writeAtomic(join(dir, name), data),
});

/** The bundle for the environment's targets; old evidence is flagged as the sign-off flags it. */
export async function bundle(outcomes?: Map<string, { code: number; seconds: number }>) {
  const probe = await probeDocker();
  const evidence = await readEvidence(
    {
      nowMs: Date.now(),
      maxAgeMs: THRESHOLDS.evidenceMaxAgeMs,
      clickhouse: describeTarget(targetFromEnv()),
      docker: "unreachable" in probe ? null : dockerLabel(probe.host),
    },
    BUNDLE_STEPS,
  );
  return writeBundle(evidence, outIo(), outcomes);
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Bun.argv.slice(2), options: { help: { type: "boolean" } }, strict: false });
  if (values.help) {
    console.log(`usage: bun run bundle

Writes out/index.html (every step's verdict and key figure, linked to its report), out/pr.md (one pull-request
description under GitHub's 65,536-character limit, saying what was cut if it must be) and out/png/ (each report's
figures as PNG) from the stored runs in data/ and the reports in out/. bun run all writes them too.`);
    process.exit(0);
  }
  try {
    const r = await bundle();
    console.log(
      `bundle: out/index.html, out/pr.md (${r.prChars} characters` +
        `${r.cut.length ? `; cut ${r.cut.join(", ")}` : ""}), ` +
        `${r.pngs.length} PNGs in out/png/`,
    );
  } catch (e) {
    console.error(`bundle: error: ${firstLine(e)}`);
    process.exit(e instanceof K2Error ? e.exitCode : 1);
  }
}
