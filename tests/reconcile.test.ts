import { expect, test } from "bun:test";
import { ohlcvConsistency, reconcile } from "../lib/lab/reconcile.ts";

const row = (exchange: string, symbol: string, sent: number, bronze: number, silver: number, dropped = 0) => ({
  exchange,
  symbol,
  generated: sent + dropped,
  sent,
  dropped,
  silenced: 0,
  bronze,
  silver,
});

test("reconcile sums per exchange and fails on a missing or an extra row", () => {
  const r = reconcile([
    row("binance", "BTCUSDT", 10, 10, 10),
    row("binance", "ETHUSDT", 5, 5, 5, 2),
    row("kraken", "XBT/USD", 4, 4, 3),
    row("coinbase", "BTC-USD", 3, 4, 4),
  ]);
  expect(r.map((e) => [e.exchange, e.sent, e.dropped, e.lost, e.extra, e.status, e.symbols])).toEqual([
    ["binance", 15, 2, 0, 0, "PASS", 2],
    ["kraken", 4, 0, 1, 0, "FAIL", 1],
    ["coinbase", 3, 0, 0, 1, "FAIL", 1],
  ]);
});

test("ohlcvConsistency flags a timeframe that disagrees with silver", () => {
  const r = ohlcvConsistency([
    { timeframe: "1m", exchange: "kraken", ohlcv_trades: 10, silver_trades: 10, candles: 3 },
    { timeframe: "1h", exchange: "kraken", ohlcv_trades: 9, silver_trades: 10, candles: 1 },
  ]);
  expect(r.map((x) => [x.diff, x.status])).toEqual([
    [0, "PASS"],
    [-1, "FAIL"],
  ]);
});
