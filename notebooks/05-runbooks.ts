// # Step 5 and the sign-off: runbooks and docs from measured results, and the Phase 7 checklist
//
// Reads every step's newest stored run; on the lab, drills each of the five runbooks (its fault applied, its
// resolution followed for real, recovery timed); checks every command against the target; renders the runbooks, the
// measured blocks for the platform's documents, and the checklist of every acceptance criterion of steps 1 to 5.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { ALERTS } from "../lib/alerting/rules.ts";
import { failureLab } from "../lib/failure/run.ts";
import { restoreJournal } from "../lib/faults/docker.ts";
import { connectClickHouse, isLab, sqlString, type Target, targetFromEnv } from "../lib/io/clickhouse.ts";
import { type DockerTarget, dockerLabel, k2Containers, probeDocker } from "../lib/io/docker.ts";
import { loadConfig } from "../lib/k2/config.ts";
import { COMPOSE_NETWORK, clickhouseNetwork } from "../lib/k2/network.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";
import { LabOffload } from "../lib/lab/offload.ts";
import { startLabRig } from "../lib/lab/rig.ts";
import { resetLab } from "../lib/lab/schema.ts";
import { LAB_NET } from "../lib/lab/stack.ts";
import { type Names, runbooks } from "../lib/runbooks/catalog.ts";
import { checkCommands, discoverNames, type Present } from "../lib/runbooks/checks.ts";
import { drill } from "../lib/runbooks/drill.ts";
import { readEvidence } from "../lib/runbooks/evidence.ts";
import { readMeasured } from "../lib/runbooks/measured.ts";
import { planPlatform } from "../lib/runbooks/platform.ts";
import type { DrillResult } from "../lib/runbooks/render.ts";
import { checklistSection, checksSection, docsSection, drillSection, runbooksSection } from "../lib/runbooks/report.ts";
import { type SignoffFetched, type SignoffRecord, signoffView } from "../lib/runbooks/summary.ts";
import { usageError } from "../lib/runtime/errors.ts";
import { writeAtomic } from "../lib/runtime/fsx.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";
import { durationSpec, formatDuration } from "../lib/runtime/units.ts";

type Options = {
  maxAgeMs: number;
  write: string | null;
  includeLab: boolean;
  drill: boolean;
  network: string | undefined;
};

const checkoutDir = opt.custom(
  opt.optionalText("fill the platform's own docs tables and add the runbooks, in a platform checkout", "checkout"),
  (v, flag) => {
    if (v === undefined) return null;
    const dir = resolve(v);
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw usageError(`invalid ${flag}: ${JSON.stringify(v)} is not a folder (give the platform checkout's root)`);
    if (!existsSync(join(dir, "docs")))
      throw usageError(
        `invalid ${flag}: ${JSON.stringify(v)} has no docs/ folder (give the platform checkout's root, not its docs)`,
      );
    return dir;
  },
);

const OPTIONS = {
  "max-age": opt.duration(
    durationSpec(THRESHOLDS.evidenceMaxAgeMs),
    "evidence older than this never passes the checklist",
  ),
  write: checkoutDir,
  "include-lab": opt.flag('--write: write the lab\'s evidence too, every filled cell saying "(lab)"'),
  "skip-drill": opt.flag("skip the drill (it resets the lab's pipeline and applies each runbook's fault)"),
  network: opt.optionalText(
    "the network the runbooks name (lab: k2-lab_k2-net; stack: the one k2-clickhouse is on, as the engine names it)",
    "name",
  ),
};

const signoff: Notebook<Options, SignoffFetched, typeof OPTIONS> = {
  name: "05-runbooks",
  title: "Step 5: runbooks, docs and the Phase 7 sign-off",
  about: `Reads every step's newest stored run and renders the five runbooks (feed-handler-crash,
clickhouse-unavailable, redpanda-restart, silver-mv-stall, minio-unavailable) from what was measured: the alerts
with their measured time to fire, diagnosis and resolution commands with the target's names, prevention from
measured budgets and bottlenecks, related monitoring, the measured MTTR and a "last verified" line. Checks them:
sections, every critical alert's runbook_url, alert names, and every command against the target (containers,
services, networks; SQL by EXPLAIN). On the lab it drills each runbook: the fault applied, the resolution followed
for real, recovery timed against the runbook's target and 15 minutes. Renders the measured blocks for
ARCHITECTURE-V2.md, PROGRESS.md, v2/README.md and CURRENT-STATE.md; --write <checkout> fills the platform's own
"to fill in" tables in place (the step files, PROGRESS.md, the phase's status rows, ARCHITECTURE-V2.md's figures) and
adds the runbooks to docs/operations/runbooks/ and its index, showing each change first (lab evidence only with
--include-lab, marked "(lab)"). And the Phase 7 checklist: every acceptance criterion of steps 1 to 5
with PASS, FAIL, UNRESOLVED or NOT RUN, its run and date. --gate exits 6 unless all pass.`,
  options: OPTIONS,
  parse: (v) => ({
    maxAgeMs: v["max-age"],
    write: v.write,
    includeLab: v["include-lab"],
    drill: !v["skip-drill"],
    network: v.network,
  }),

  // ## Fetch: the evidence, the drill, the checks
  async fetch({ options: o, run, log, onAbort }) {
    const spec = targetFromEnv();
    const lab = isLab(spec);
    if (o.write && lab && !o.includeLab)
      throw usageError(
        `--write ${o.write}: this sign-off reads the lab's evidence, not a stack's; a checkout records stack results ` +
          '(run it against the stack, or pass --include-lab to write the lab\'s marked "(lab)")',
      );
    const target = await connectClickHouse(spec);
    const probe = await probeDocker();
    const docker = "unreachable" in probe ? null : probe;
    // the runbooks print the engine's name for the network (compose's <project>_k2-net on a stack)
    const network =
      lab || !docker ? (o.network ?? (lab ? LAB_NET : COMPOSE_NETWORK)) : await clickhouseNetwork(docker, o.network);
    const steps = await readEvidence({
      nowMs: Date.now(),
      maxAgeMs: o.maxAgeMs,
      clickhouse: target.label,
      docker: docker ? dockerLabel(docker.host) : null,
    });
    const config = loadConfig();
    let drills: DrillResult[] = [];
    let names: Names;
    const drillSkipped = !lab
      ? "the drill applies faults: it runs on the lab (unset CLICKHOUSE_URL)"
      : !o.drill
        ? "--skip-drill"
        : null;
    if (drillSkipped === null) {
      if (docker) await restoreJournal(docker, log);
      // the offload's watermarks in ClickHouse: the runbooks' SQL is what the drill runs, on the lab's engine (their
      // Prefect DB commands exec psql in k2-prefect-db, which the lab's container does not carry)
      const rigOptions = failureLab(docker, { rate: 100, faults: [] });
      const rig = await startLabRig(target, { ...rigOptions, offload: { ...rigOptions.offload!, clickhouse: true } });
      onAbort(rig.stop);
      try {
        await Bun.sleep(4000); // the verify checks read the last seconds of silver: some must be there
        names = await discoverNames(target, target.database, config, network, lab ? "clickhouse" : "postgres");
        drills = await drillAll(names, { target, docker, network, hold: rig.traffic.control }, log);
      } finally {
        await rig.stop();
      }
    } else {
      // the lab's own folder may not hold its pipeline yet (no lab run): the lab builds it, as it owns it
      if (lab && !(await hasDatabase(target, target.database))) {
        await resetLab(target, target.database);
        await new LabOffload(target, null, THRESHOLDS.offloadIntervalMs).setup();
      }
      names = await discoverNames(target, target.database, config, network, lab ? "clickhouse" : "postgres");
    }
    const present = await presentOn(docker);
    const rec: SignoffRecord = {
      target: target.label,
      maxAgeMs: o.maxAgeMs,
      names,
      steps,
      drills,
      drillSkipped,
      commands: await checkCommands(runbooks(names), target, present, names),
      ...(await readMeasured()),
      written: null,
    };
    if (o.write) rec.written = await writeCheckout(o.write, rec, { runId: run.runId, lab }, log);
    await run.saveJson("signoff", rec);
    return {
      parameters: { maxAge: formatDuration(o.maxAgeMs), write: o.write, drill: drillSkipped === null },
      target: { kind: target.kind, label: target.label, version: target.version },
    };
  },

  // ## Render: the checklist, the drill, the checks, the runbooks, the docs blocks
  async render(doc, run) {
    const rec = await run.json<SignoffRecord>("signoff");
    const verified = { runId: run.manifest.runId, date: run.manifest.createdAt, target: rec.target };
    const { texts, textChecks, rows, blocks, pass } = signoffView(rec, verified);
    checklistSection(doc, rows, rec);
    drillSection(doc, rec);
    checksSection(doc, [...textChecks, ...rec.commands]);
    runbooksSection(doc, texts);
    docsSection(doc, blocks, rec);
    return {
      failed: pass < rows.length,
      summary: [
        `sign-off: Phase 7 checklist ${pass}/${rows.length} PASS; drill ` +
          (rec.drills.length
            ? rec.drills
                .map(
                  (d) => `${d.runbook} ${d.recoveredMs === null ? d.status : `${(d.recoveredMs / 1000).toFixed(1)} s`}`,
                )
                .join(", ")
            : (rec.drillSkipped ?? "not run")),
        ...rows
          .filter((r) => r.status !== "PASS")
          .map((r) => `  ${r.status.padEnd(10)} step ${r.step}: ${r.criterion}`.slice(0, 200)),
      ],
      files: {
        ...texts,
        ...Object.fromEntries(blocks.map((b) => [`docs/${b.doc.replace("/", "-")}.${b.name}.md`, `${b.body}\n`])),
      },
    };
  },
};

/** Each runbook drilled in turn on the running lab. */
async function drillAll(names: Names, rig: Parameters<typeof drill>[1], log: (m: string) => void) {
  const out: DrillResult[] = [];
  for (const r of runbooks(names)) {
    const d = await drill(r, rig, { detectWithinMs: 30_000, recoverWithinMs: 120_000, log });
    log(
      `${r.name}: ${d.status}, recovered ` +
        (d.recoveredMs === null ? "never" : `${(d.recoveredMs / 1000).toFixed(1)} s`),
    );
    out.push(d);
  }
  return out;
}

async function hasDatabase(target: Target, name: string) {
  const [r] = await target.query<{ n: number }>(
    `SELECT count() AS n FROM system.databases WHERE name = ${sqlString(name)}`,
  );
  return Number(r?.n) > 0;
}

async function presentOn(docker: DockerTarget | null): Promise<Present> {
  if (!docker) return null;
  const containers = (await k2Containers(docker)).map((c) => c.name);
  const networks = (await docker.docker.listNetworks()).map((n) => n.Name);
  return { containers, networks };
}

/** --write: the platform's own tables filled, the runbooks added and indexed; each diff shown first. */
async function writeCheckout(
  root: string,
  rec: SignoffRecord,
  self: { runId: string; lab: boolean },
  log: (m: string) => void,
): Promise<NonNullable<SignoffRecord["written"]>> {
  const date = newestEvidence(rec);
  const { texts, step5 } = signoffView(rec, { runId: self.runId, date, target: rec.target });
  const paths = [...new Bun.Glob("docs/**/*.md").scanSync({ cwd: root })];
  const read = (p: string) => readFileSync(join(root, p), "utf8");
  const books = runbooks(rec.names).map((r) => ({
    file: r.file,
    text: texts[r.file]!,
    title: r.title,
    severity: ALERTS.find((a) => a.name === r.alerts[0])?.severity ?? "warning",
    mttr: `< ${formatDuration(r.mttrTargetMs)}`,
    alerts: r.alerts,
  }));
  const plan = planPlatform(paths, read, {
    rec,
    signoff: { criteria: step5, date: date.slice(0, 10) },
    lab: self.lab,
    runbooks: books,
  });
  for (const c of plan.changes) console.log(c.diff);
  for (const c of plan.changes) await writeAtomic(join(root, c.path), c.after);
  for (const u of plan.unfilled) log(`not filled: ${u.doc}: ${u.why}`);
  log(`wrote ${plan.changes.length} files into ${root}`);
  const missing = plan.unfilled.filter(
    (u) => u.why === "not in the checkout" || u.why.startsWith("not in the checkout"),
  );
  return {
    dir: root,
    changes: plan.changes.map(({ path, why, diff }) => ({ path, why, diff })),
    skipped: missing,
    unfilled: plan.unfilled.filter((u) => !missing.includes(u)),
  };
}

/** The newest evidence run's time: what the documents are dated by, so that a second write changes nothing. */
function newestEvidence(rec: SignoffRecord): string {
  return (
    rec.steps
      .flatMap((s) => (s.run ? [s.run.createdAt] : []))
      .sort()
      .at(-1) ?? new Date().toISOString()
  );
}

if (import.meta.main) await main(signoff);
export default signoff;
