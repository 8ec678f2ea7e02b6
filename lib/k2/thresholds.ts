// Every number a check, an alert or a runbook quotes, from FACTS.md (Phase 7 targets and the
// step files). Checks, reports, alert rules and runbooks read them here and nowhere else.
const MIN = 60_000;

export const THRESHOLDS = {
  /** FeedHandlerDown: an exchange with no trade for longer than this is down (critical). */
  feedStaleMs: 2 * MIN,
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
} as const;
