// Reconciliation of counts: what was sent against what landed, per exchange. Pure: rows in,
// verdicts out, so tests feed plain arrays and notebooks feed what the engine counted.
import type { Status } from "../verdict/status.ts";

export type CountRow = {
  exchange: string;
  symbol: string;
  generated: number;
  sent: number;
  dropped: number;
  silenced: number;
  bronze: number;
  silver: number;
};
export type ExchangeCounts = Omit<CountRow, "symbol"> & {
  lost: number;
  extra: number;
  status: Status;
  symbols: number;
};

/** Sum per exchange; PASS when bronze and silver both hold exactly what was sent. */
export function reconcile(rows: CountRow[]): ExchangeCounts[] {
  const by = new Map<string, ExchangeCounts>();
  for (const r of rows) {
    const e = by.get(r.exchange) ?? {
      exchange: r.exchange,
      generated: 0,
      sent: 0,
      dropped: 0,
      silenced: 0,
      bronze: 0,
      silver: 0,
      lost: 0,
      extra: 0,
      status: "PASS" as Status,
      symbols: 0,
    };
    for (const k of ["generated", "sent", "dropped", "silenced", "bronze", "silver"] as const) e[k] += Number(r[k]);
    e.symbols++;
    by.set(r.exchange, e);
  }
  return [...by.values()].map((e) => {
    const landed = Math.min(e.bronze, e.silver);
    const lost = Math.max(0, e.sent - landed),
      extra = Math.max(0, Math.max(e.bronze, e.silver) - e.sent);
    return { ...e, lost, extra, status: lost === 0 && extra === 0 ? "PASS" : "FAIL" };
  });
}

export type OhlcvRow = {
  timeframe: string;
  exchange: string;
  ohlcv_trades: number;
  silver_trades: number;
  candles: number;
};

/** Every gold timeframe must count exactly the silver trades of each exchange. */
export function ohlcvConsistency(rows: OhlcvRow[]): (OhlcvRow & { diff: number; status: Status })[] {
  return rows.map((r) => {
    const diff = Number(r.ohlcv_trades) - Number(r.silver_trades);
    return {
      ...r,
      ohlcv_trades: Number(r.ohlcv_trades),
      silver_trades: Number(r.silver_trades),
      candles: Number(r.candles),
      diff,
      status: diff === 0 ? "PASS" : "FAIL",
    };
  });
}
