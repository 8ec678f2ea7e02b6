// Live fire, the lab's part: the faults it applies to the lab (one per alert, each with the time its condition needs,
// and which may run side by side), the lab's scrape endpoints on one loopback port, and the Prometheus that scrapes
// them. A stack's faults are step 3's (../stack-faults.ts), in the same FaultSpec.

import { OOM_FAULT, oomContainer } from "../../faults/oom.ts";
import type { DockerTarget } from "../../io/docker.ts";
import { THRESHOLDS } from "../../k2/thresholds.ts";
import type { LabOffload } from "../../lab/offload.ts";
import type { LabRig } from "../../lab/rig.ts";
import { compressedMs } from "../compress.ts";
import { PipelineExporter, scrapeBudgetMs } from "../exporter.ts";
import { DELAY_WINDOW_MS } from "../exporter-sql.ts";

/** The lab as the live fire runs it (lib/lab/rig.ts) with its offload job and the pipeline exporter in process. */
export type FireRig = Pick<LabRig, "target" | "traffic" | "docker" | "flushMs" | "busiestShare" | "endpoints"> & {
  offload: LabOffload;
  exporter: PipelineExporter;
};

export type FaultSpec = {
  alert: string;
  fault: string;
  /** how long after the fault starts its condition holds, by construction */
  conditionAfterMs: number;
  /** apply the fault; resolves when it is in place (a stall-and-release returns at the release, timed from there) */
  apply(): Promise<void>;
  clear(): Promise<void>;
  /** measured from another fault's clearing (its effect outlives it), with nothing of its own to apply */
  after?: string;
  /** how long after clearing the alert may take to resolve (default 30 s + for) */
  resolveWithinMs?: number;
  /** why this fault cannot run here (reported NOT RUN) */
  notRun?: string;
  /**
   * Which faults may run at the same time: a lane's faults run one after another, the lanes of one phase side by side
   * (phases in LANE_PHASES order). Unset: every fault alone, in order (a stack's faults).
   */
  lane?: Lane;
  /** the condition holds now, by the lab's ground truth: the bound then starts from when it first did */
  holds?: () => boolean;
  /** after `holds`, how long until the condition shows in the metrics (an increase needs two scrapes around it) */
  showsAfterHoldMs?: number;
};

/**
 * A consumer stall holds every exchange's trades, so it sets off FeedHandlerDown and raises the offload's lag: it runs
 * alone. The offload faults touch only the watermark, and the exchange faults (one exchange silent or refused, a
 * container of ours out of memory) only their own exchange or container: those two lanes run side by side.
 */
type Lane = "stall" | "offload" | "exchange";
const LANE_PHASES: Lane[][] = [["stall"], ["offload", "exchange"]];

/**
 * Whether the lab's consumer lag is over RedpandaConsumerLagHigh's threshold now. The lag Redpanda's endpoint reports
 * is the lab's backlog, and the arrivals are Poisson (slower on a loaded machine), so it crosses when it does.
 */
export const lagOverThreshold = (traffic: Pick<FireRig["traffic"], "summary">) => () =>
  Math.max(...Object.values(traffic.summary().backlog)) > THRESHOLDS.consumerLagMessages;

/** The faults of step 3's kinds, one per alert, each with the time its condition needs. */
export function faultsFor(rig: FireRig, factor: number, scrapeMs: number): FaultSpec[] {
  const c = rig.traffic.control;
  return [
    {
      alert: "FeedHandlerDown",
      fault: "binance's handler delivers nothing",
      lane: "exchange",
      conditionAfterMs: compressedMs(THRESHOLDS.feedStaleMs, factor, scrapeMs) + rig.flushMs,
      apply: async () => void c.silenced.add("binance"),
      clear: async () => void c.silenced.delete("binance"),
    },
    {
      alert: "RedpandaConsumerLagHigh",
      fault: "the consumer stalled",
      lane: "stall",
      conditionAfterMs: (THRESHOLDS.consumerLagMessages / (c.rate * rig.busiestShare)) * 1000,
      holds: lagOverThreshold(rig.traffic),
      apply: async () => void (c.paused = true),
      clear: async () => void (c.paused = false),
    },
    {
      ...delayAfterStall("the consumer stalled, then released", rig.flushMs, scrapeMs, rig.exporter.delayWindowMs),
      lane: "stall",
    },
    insertFailure(rig, scrapeMs),
    {
      alert: "IcebergOffloadLag",
      fault: "the offload job stopped",
      lane: "offload",
      conditionAfterMs: compressedMs(THRESHOLDS.offloadLagMinutes * 60_000, factor, scrapeMs),
      apply: async () => rig.offload.stop(),
      clear: async () => {
        rig.offload.start();
        await rig.offload.runOnce();
      },
    },
    offloadFailure(rig.offload),
    { ...oomFault(rig.docker), lane: "exchange" },
  ];
}

/**
 * IcebergOffloadFailure: every run fails until cleared. The runs come on the job's schedule, each as long as a loaded
 * machine makes it: the bound starts from the run that makes the failures consecutive beyond the threshold, by the
 * job's own record, when that is later than the schedule alone implies.
 */
function offloadFailure(offload: LabOffload): FaultSpec {
  let since = Number.POSITIVE_INFINITY;
  return {
    alert: "IcebergOffloadFailure",
    fault: "the offload job failing run after run",
    lane: "offload",
    conditionAfterMs: (THRESHOLDS.offloadFailedRunsAbove + 1) * offload.everyMs,
    holds: () => offload.runs.filter((r) => r.at >= since && !r.ok).length > THRESHOLDS.offloadFailedRunsAbove,
    apply: async () => {
      since = Date.now();
      offload.fault = "the cold store refused the write (injected)";
    },
    clear: async () => {
      offload.fault = undefined;
      await offload.runOnce();
    },
  };
}

/**
 * ClickHouseBronzeInsertFailure: bronze detached under its MV, so the consumer's next insert fails. When that insert
 * comes is the consumer's business on a loaded machine: the bound starts from the first refused insert, by the lab's
 * count, when that is later than a flush.
 */
function insertFailure(rig: FireRig, scrapeMs: number): FaultSpec {
  let failedBefore = Number.POSITIVE_INFINITY;
  return {
    alert: "ClickHouseBronzeInsertFailure",
    fault: "inserts failing (bronze_trades_binance detached under its MV)",
    lane: "exchange",
    conditionAfterMs: rig.flushMs + 2 * scrapeMs,
    holds: () => rig.traffic.summary().failedInserts > failedBefore,
    showsAfterHoldMs: 2 * scrapeMs,
    apply: async () => {
      failedBefore = rig.traffic.summary().failedInserts;
      await rig.target.command(`DETACH TABLE ${rig.target.database}.bronze_trades_binance`);
    },
    clear: () => rig.target.command(`ATTACH TABLE ${rig.target.database}.bronze_trades_binance`),
  };
}

/**
 * MVProcessingDelay from a consumer stall's release: the backlog lands with the delay it waited, and the exporter
 * averages delay over one minute (a real minute: it is the component, not the rule), so it resolves a minute later.
 */
export const delayAfterStall = (
  stall: string,
  flushMs: number,
  scrapeMs: number,
  delayWindowMs = DELAY_WINDOW_MS,
): FaultSpec => ({
  alert: "MVProcessingDelay",
  fault: `${stall} (timed from the release)`,
  conditionAfterMs: flushMs + scrapeMs,
  after: "RedpandaConsumerLagHigh",
  resolveWithinMs: delayWindowMs + 30_000,
  apply: async () => {},
  clear: async () => {},
});

/** ServiceOOMKill: a container of ours runs out of memory (lib/faults/oom.ts), timed from when Docker reports it. */
export const oomFault = (docker: DockerTarget | null): FaultSpec => {
  const oom = docker ? oomContainer(docker) : null;
  return {
    alert: "ServiceOOMKill",
    fault: OOM_FAULT,
    conditionAfterMs: 3000,
    notRun: oom ? undefined : "no Docker engine answers (sudo bun run docker)",
    holds: () => oom?.seenAt() != null,
    apply: async () => oom?.start(),
    clear: async () => oom?.remove(),
  };
};

/**
 * The exporter read until every source has answered once, before anything scrapes it: its first read discovers the
 * schema and finds the watermark store, which a loaded machine does not do within a 2 s scrape, and a source that has
 * never answered has no last answer to keep, so that the absent() guards would fire in the baseline. Up to 30 s.
 */
export async function warmExporter(exporter: FireRig["exporter"], log: (m: string) => void) {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    await exporter.scrape();
    // a source that fails for a reason (no Docker engine) says so in the run; only one still slow is waited for
    if (![...exporter.errors.values()].some((e) => e.startsWith("no answer within"))) return;
    await Bun.sleep(500);
  }
  const slow = [...exporter.errors].map(([source, e]) => `${source}: ${e}`);
  log(`the exporter's sources still slow after 30 s: ${slow.join("; ")}`);
}

/** The lab's scrape endpoints on one loopback port: the exporter, Redpanda's and ClickHouse's. */
export function serveLab(rig: Pick<FireRig, "endpoints" | "exporter">, port = 0) {
  return Bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch: async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") return new Response(await rig.exporter.scrape(scrapeBudgetMs(req.headers)));
      if (path === "/redpanda/public_metrics") return new Response(rig.endpoints.redpanda());
      if (path === "/clickhouse/metrics")
        return new Response(await rig.endpoints.clickhouse.metrics(scrapeBudgetMs(req.headers)));
      return new Response("not found", { status: 404 });
    },
  });
}

export function prometheusConfig(labPort: number, amUrl: string | null, scrapeMs: number, evalMs: number): string {
  const job = (name: string, path: string) => ({
    job_name: name,
    metrics_path: path,
    static_configs: [{ targets: [`127.0.0.1:${labPort}`] }],
  });
  return JSON.stringify({
    global: { scrape_interval: `${scrapeMs}ms`, evaluation_interval: `${evalMs}ms` },
    rule_files: ["k2-alerts.yml"],
    alerting: { alertmanagers: amUrl ? [{ static_configs: [{ targets: [amUrl.replace(/^http:\/\//, "")] }] }] : [] },
    scrape_configs: [
      job("k2-pipeline", "/metrics"),
      job("redpanda", "/redpanda/public_metrics"),
      job("clickhouse", "/clickhouse/metrics"),
    ],
  });
}

/** The faults in phases of lanes (LANE_PHASES); faults with no lane each alone, in their order, after the rest. */
export function lanePhases(specs: FaultSpec[]): FaultSpec[][][] {
  const phases = LANE_PHASES.map((phase) =>
    phase.map((l) => specs.filter((f) => f.lane === l)).filter((fs) => fs.length),
  );
  return [...phases, ...specs.filter((f) => !f.lane).map((f) => [[f]])].filter((p) => p.length);
}
