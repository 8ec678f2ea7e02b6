// The drill: on the lab, each runbook's fault is applied (step 3's action through its journal, or the silver view
// detached), and once the runbook's own verify check sees the failure, its resolution is followed for real, in order:
// docker commands through the docker CLI, SQL on the lab's engine (the lab's k2-clickhouse container is a stand-in,
// so the `docker exec k2-clickhouse clickhouse-client` wrapper is the one part not run). Timed from the fault to the
// verify check passing, against the runbook's target and the 15-minute goal.

import { stepThree } from "../failure/matrix.ts";
import type { FaultRig } from "../faults/control.ts";
import type { Target } from "../io/clickhouse.ts";
import type { DockerTarget } from "../io/docker.ts";
import { THRESHOLDS } from "../k2/thresholds.ts";
import { firstLine } from "../runtime/errors.ts";
import type { Command, Runbook } from "./catalog.ts";
import type { DrillResult } from "./render.ts";

export type DrillRig = { target: Target; docker: DockerTarget | null; network: string; hold?: { paused: boolean } };
export type DrillOptions = { detectWithinMs: number; recoverWithinMs: number; log: (m: string) => void };

/** The runbook's fault as apply/clear (clear is the safety net on failure or Ctrl-C; the drill clears by the book). */
function faultOf(runbook: Runbook, rig: DrillRig) {
  if (runbook.sqlFault) {
    const { apply, clear } = runbook.sqlFault;
    return { apply: () => rig.target.command(apply), clear: () => rig.target.command(clear) };
  }
  const faultRig: FaultRig = { docker: rig.docker, lab: true, network: rig.network, hold: rig.hold };
  return stepThree(faultRig, runbook.test!, `drill ${runbook.name}`);
}

async function ok(target: Target, sql: string): Promise<boolean> {
  const [row] = await target.query<{ ok: number | string }>(sql);
  return Number(row?.ok) === 1;
}

async function until(check: () => Promise<boolean>, withinMs: number): Promise<number | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < withinMs) {
    if (await check()) return Date.now();
    await Bun.sleep(250);
  }
  return null;
}

/** One resolution step, run for real; a conditional step runs only when the drill's fault makes its condition true. */
async function runStep(cmd: Command, runbook: Runbook, rig: DrillRig) {
  const ran = !cmd.when || runbook.drillWhen.includes(cmd.when);
  const t0 = Date.now();
  if (!ran) return { ran, ok: true, output: `not run: ${cmd.when} does not hold in this drill` };
  if ("sql" in cmd) {
    if (cmd.sql === runbook.verify.sql) return { ran, ok: true, output: "the verify check, polled below" };
    const out = await rig.target.command(cmd.sql).then(
      () => "ok",
      (e) => `error: ${firstLine(e)}`,
    );
    return { ran, ok: out === "ok", output: out, ms: Date.now() - t0 };
  }
  const p = Bun.spawn(["sh", "-c", cmd.shell], {
    env: { ...process.env, DOCKER_HOST: rig.docker?.host ?? process.env.DOCKER_HOST },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { ran, ok: code === 0, output: (code === 0 ? out : err || out).trim().slice(0, 300) };
}

export async function drill(entry: Runbook, rig: DrillRig, options: DrillOptions): Promise<DrillResult> {
  const base = { runbook: entry.name, steps: [], resolutionMs: 0 };
  if (entry.test !== null && !rig.docker)
    return { ...base, status: "NOT RUN", recoveredMs: null, note: "needs a Docker engine (sudo bun run docker)" };
  // the verify check must hold before the fault (and run at all), or the drill would time nothing
  const before = await ok(rig.target, entry.verify.sql).catch((e) => `its verify check fails to run: ${firstLine(e)}`);
  if (before !== true)
    return { ...base, status: "FAIL", recoveredMs: null, note: before || "its verify check fails before the fault" };
  const fault = faultOf(entry, rig);
  const t0 = Date.now();
  try {
    await fault.apply();
    options.log(`${entry.name}: fault applied (${entry.fault}); waiting for the verify check to see it`);
    const seen = await until(async () => !(await ok(rig.target, entry.verify.sql)), options.detectWithinMs);
    if (seen === null)
      return { ...base, status: "FAIL", recoveredMs: null, note: `the fault never showed in the verify check` };
    const steps: DrillResult["steps"] = [];
    const r0 = Date.now();
    for (const c of entry.resolution) {
      const s0 = Date.now();
      const s = await runStep(c, entry, rig);
      steps.push({ what: c.what, command: "sql" in c ? c.sql : c.shell, ...s, ms: Date.now() - s0 });
    }
    // the lab's consumer waits for the broker or server as the Kafka engine does: it resumes once the commands ran
    if (rig.hold) rig.hold.paused = false;
    const resolutionMs = Date.now() - r0;
    const back = await until(() => ok(rig.target, entry.verify.sql), options.recoverWithinMs);
    const recoveredMs = back === null ? null : back - t0;
    const within = recoveredMs !== null && recoveredMs <= Math.min(entry.mttrTargetMs, THRESHOLDS.runbookRecoveryMs);
    const failed = steps.filter((s) => s.ran && !s.ok);
    return {
      ...base,
      steps,
      resolutionMs,
      recoveredMs,
      detectedMs: seen - t0,
      status: within && !failed.length ? "PASS" : "FAIL",
      note: failed.length
        ? `step failed: ${failed.map((s) => `${s.command}: ${s.output}`).join("; ")}`
        : recoveredMs === null
          ? `not recovered within ${options.recoverWithinMs / 1000} s of the resolution`
          : "resolved by the book",
    };
  } finally {
    // the safety net after the book's own steps (which cleared it, or the note says they failed): clearing twice fails
    await fault.clear().catch(() => {});
    if (rig.hold) rig.hold.paused = false;
  }
}
