// Every number a check, an alert or a runbook quotes, from FACTS.md (Phase 7 targets and the
// step files). Checks, reports, alert rules and runbooks read them here and nowhere else.
const MIN = 60_000;

export const THRESHOLDS = {
  /** FeedHandlerDown: an exchange with no trade for longer than this is down (critical). */
  feedStaleMs: 2 * MIN,
  /** Step 4's acceptance: FeedHandlerDown fires within this of stopping a handler. */
  feedDownAlertWithinMs: 2 * MIN,
  /** The window the health check counts trades over. */
  healthWindowMs: 5 * MIN,
  /** RedpandaConsumerLagHigh: consumer lag above this many messages ... */
  consumerLagMessages: 1000,
  /** ... for this long (warning). */
  consumerLagForMs: 5 * MIN,
  /** MVProcessingDelay: average ingestion minus exchange time above this (warning). */
  mvDelayMs: 30_000,
  /** IcebergOffloadLag: offload lag above this many minutes (warning). */
  offloadLagMinutes: 30,
  /** IcebergOffloadFailure: more than this many consecutive failed offload runs (critical). */
  offloadFailedRunsAbove: 2,
  /** The offload schedule (`iceberg-offload-15min`). */
  offloadIntervalMs: 15 * MIN,
  /** A scheduled run may start and finish this late before the schedule counts as late. */
  scheduleGraceMs: 5 * MIN,
  /** Phase 7 milestone gate: every failure test recovers within this after its fault clears. */
  milestoneMttrMs: 30_000,
  /** The brief's recovery check: no gap in ingestion longer than this (beyond the fault itself). */
  ingestionGapMs: 30_000,
  /** Burn-in: a CPU spike over budget is acceptable while under this multiple of the budget. */
  cpuSpikeFactor: 2,
  /** Runbooks: an engineer new to the system recovers within this. */
  runbookRecoveryMs: 15 * MIN,
  /** The sign-off: evidence older than this never passes (a week: a stack changes, a run must be re-made). */
  evidenceMaxAgeMs: 7 * 24 * 60 * MIN,
} as const;

/** Step 5: each runbook's recovery target (the platform's step file). */
export const RUNBOOK_MTTR_MS = {
  "feed-handler-crash": 5 * MIN,
  "clickhouse-unavailable": 5 * MIN,
  "redpanda-restart": 5 * MIN,
  "silver-mv-stall": 10 * MIN,
  "minio-unavailable": 5 * MIN,
} as const;

/** Step 1: p99 end-to-end lag targets per load scenario (1x ~50 msg/s, 5x ~250, 10x ~500). */
export const LATENCY_P99_TARGET_MS = { "1x": 200, "5x": 500, "10x": 1000 } as const;

/** Step 1: the seven-segment latency budget, 11 ms end to end (the three MV segments 1 + 3 + 1 ms). */
export const SEGMENT_BUDGET_MS = { parse: 1, produce: 2, kafka: 3, mv: 5, total: 11 } as const;

/** Step 3: recovery targets per failure test (the step file's, and the tighter failure matrix where it has one). */
export const MTTR_TARGET_MS = {
  "feed-handler-crash": { target: MIN, matrix: 5_000 },
  "redpanda-restart": { target: 2 * MIN, matrix: 10_000 },
  "clickhouse-restart": { target: 3 * MIN, matrix: 15_000 },
  "offload-failure": { target: 15 * MIN, matrix: null },
  "minio-unavailable": { target: 5 * MIN, matrix: null },
  "network-partition": { target: 5 * MIN, matrix: null },
} as const;
