// # Stack health: "confirm the stack is healthy" as one command
//
// The brief starts every day with four checks by hand. This notebook does them, shows the
// evidence for each, and exits non-zero when any fails, so it can gate CI and the step
// notebooks. On the embedded default it checks the K2 lab: its containers and its engine.

import { checksTable, countsText, flowFigure, groupLines } from "../lib/health/report.ts";
import { flowSeriesSql, gatherHealth } from "../lib/health/run.ts";
import { type HealthFetched, overallOf } from "../lib/health/summary.ts";
import { type Check } from "../lib/health/verdict.ts";
import { connectClickHouse, isLab, targetFromEnv } from "../lib/io/clickhouse.ts";
import { probeDocker } from "../lib/io/docker.ts";
import { prefectUrl } from "../lib/io/prefect.ts";
import { type K2Config, loadConfig } from "../lib/k2/config.ts";
import { THRESHOLDS } from "../lib/k2/thresholds.ts";
import { runLab } from "../lib/lab/lab.ts";
import { parseDelay } from "../lib/lab/random.ts";
import { LAB_QUICK_FLUSH_MS } from "../lib/lab/replayer.ts";
import { ensureLabStack } from "../lib/lab/stack.ts";
import { type Fault, faultsHtml, parseFault } from "../lib/lab/traffic.ts";
import { html } from "../lib/report/html.ts";
import { EXIT, K2Error, registerSecret } from "../lib/runtime/errors.ts";
import { main, type Notebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";
import { durationSpec, formatDuration } from "../lib/runtime/units.ts";

type Options = {
  windowMs: number;
  staleMs: number;
  prefectApiUrl: string;
  prefectDbUrl?: string;
  deployment: string;
  config: K2Config;
  lab: { replayMs: number; rate: number; faults: Fault[]; stack: boolean };
};

/** The options, each declared with its normaliser (lib/runtime/options.ts). */
const OPTIONS = {
  window: opt.duration(durationSpec(THRESHOLDS.healthWindowMs), "how far back to count trades"),
  stale: opt.duration(durationSpec(THRESHOLDS.feedStaleMs), "an exchange with no trade for this long fails"),
  deployment: opt.text("iceberg-offload-15min", "the Prefect offload deployment", "name"),
  "lab-replay": opt.duration("20s", "lab only: replay this long before checking (0 to check what is there)", {
    zero: true,
  }),
  "lab-rate": opt.rate("1x", "lab only: message rate of the replay"),
  "lab-fault": opt.list(parseFault, "lab only: faults during the replay, e.g. silence:binance@20s+3m"),
  "lab-stack": opt.flag(
    "lab only: create the lab's containers when Docker is reachable (--no-lab-stack to skip)",
    true,
  ),
};

const health: Notebook<Options, HealthFetched, typeof OPTIONS> = {
  name: "00-health",
  title: "K2 stack health",
  alwaysGate: true,
  about: `Checks, each PASS, WARN, FAIL or SKIPPED with its evidence: every K2 container up (state,
health, restarts, uptime; the one-shot redpanda-init exited 0 passes), trades flowing per
exchange (stale beyond --stale fails, the FeedHandlerDown rule), offload watermarks (ClickHouse
or the Prefect DB via PREFECT_DB_URL) against the 15-minute schedule, and the recent runs of
the iceberg-offload-15min deployment through the Prefect API (PREFECT_API_URL).
Exits 6 when any check fails. On the embedded default it first replays the lab for
--lab-replay and creates the lab's containers when a Docker engine is reachable.`,
  options: OPTIONS,
  parse: (v) => {
    const env = process.env;
    if (env.PREFECT_DB_URL)
      registerSecret(
        URL.canParse(env.PREFECT_DB_URL) ? decodeURIComponent(new URL(env.PREFECT_DB_URL).password) : undefined,
      );
    return {
      windowMs: v.window,
      staleMs: v.stale,
      deployment: v.deployment,
      prefectApiUrl: prefectUrl(env),
      prefectDbUrl: env.PREFECT_DB_URL?.trim() || undefined,
      config: loadConfig(),
      lab: { replayMs: v["lab-replay"], rate: v["lab-rate"], faults: v["lab-fault"], stack: v["lab-stack"] },
    };
  },

  // ## Fetch: the lab if it is the target, then the four checks
  async fetch({ options: o, run, log }) {
    const spec = targetFromEnv();
    const target = await connectClickHouse(spec).catch((e) => {
      if (e instanceof K2Error && e.exitCode === EXIT.unreachable) return { unreachable: e.message };
      throw e;
    });
    const docker = await probeDocker();
    const lab = isLab(spec);
    if (lab && !("unreachable" in docker) && o.lab.stack) {
      log("creating any missing lab containers (k2-*, com.k2.lab=true)");
      await ensureLabStack(docker);
    }
    if (lab && o.lab.replayMs > 0 && !("unreachable" in target))
      await runLab(
        target,
        {
          ratePerSec: o.lab.rate,
          durationMs: o.lab.replayMs,
          seed: 1,
          delay: parseDelay("lognormal:40ms,0.5"),
          flushMs: LAB_QUICK_FLUSH_MS,
          faults: o.lab.faults,
        },
        "health lab",
      );
    const checkedAt = Date.now();
    const h = await gatherHealth(
      target,
      docker,
      {
        windowMs: o.windowMs,
        staleMs: o.staleMs,
        config: o.config,
        prefectApiUrl: o.prefectApiUrl,
        prefectDbUrl: o.prefectDbUrl,
        deployment: o.deployment,
      },
      checkedAt,
    );
    await run.saveJson("checks", h.checks);
    await run.saveJson("components", {
      containers: h.containers,
      flow: h.flow,
      watermarks: h.watermarks,
      runs: h.runs,
      silver: h.silver?.table ?? null,
    });
    if (h.silver && !("unreachable" in target))
      await run.saveQuery(target, "flow_series", flowSeriesSql(h.silver, o.windowMs));
    return {
      parameters: {
        window: formatDuration(o.windowMs),
        stale: formatDuration(o.staleMs),
        staleMs: o.staleMs,
        deployment: o.deployment,
        prefectApi: o.prefectApiUrl,
        lab: lab ? { replay: formatDuration(o.lab.replayMs), rate: o.lab.rate, faults: o.lab.faults } : null,
      },
      target:
        "unreachable" in target
          ? { kind: spec.kind, label: target.unreachable }
          : { kind: target.kind, label: target.label, version: target.version },
      window: { from: new Date(checkedAt - o.windowMs).toISOString(), to: new Date(checkedAt).toISOString() },
      checkedAt: new Date(checkedAt).toISOString(),
      docker: "unreachable" in docker ? { unreachable: docker.unreachable } : { host: docker.host },
    };
  },

  // ## Render: one screen
  async render(doc, run) {
    const checks = await run.json<Check[]>("checks");
    const m = run.manifest;
    const overall = overallOf(checks);
    const at = m.checkedAt.replace("T", " ").slice(0, 19);
    doc.note(overall, `Overall ${overall} at ${at} UTC: ${countsText(checks)}.`);
    const lab = m.parameters.lab;
    if (lab) {
      const faults = lab.faults.length ? html` with faults ${faultsHtml(lab.faults)}` : "";
      doc.md`Target: the K2 lab (embedded engine), replayed for ${lab.replay} at ${lab.rate} msg/s before
        checking${faults}.`;
    }
    if ("unreachable" in m.docker)
      doc.note(
        "SKIPPED",
        `${m.docker.unreachable}. The services check was skipped: start Docker or set DOCKER_HOST to run it.`,
      );
    checksTable(doc, checks);
    if (run.manifest.datasets.flow_series) await flowFigure(doc, run);
    return {
      failed: overall === "FAIL",
      summary: [`health: ${overall} — ${countsText(checks)}`, ...groupLines(checks)],
    };
  },
};

if (import.meta.main) await main(health);
export default health;
