// The three K2 exchanges and their instruments (FACTS.md). FACTS elides the middle of the
// Kraken and Coinbase lists; they are Binance's set less BNB, in each venue's spelling
// (Kraken says XBT for bitcoin and XDG for dogecoin).
import { EXCHANGE_NAMES } from "../k2/stack.ts";

/** K2's exchanges (lib/k2/stack.ts): one list, under the name the lab's code reads. */
export const EXCHANGES = EXCHANGE_NAMES;
export type Exchange = (typeof EXCHANGES)[number];

const BASES = ["BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "DOT", "LINK", "DOGE", "LTC", "AVAX", "ATOM"] as const;
const KRAKEN_NAME: Record<string, string> = { BTC: "XBT", DOGE: "XDG" };

export const INSTRUMENTS: Record<Exchange, string[]> = {
  binance: BASES.map((b) => `${b}USDT`),
  kraken: BASES.filter((b) => b !== "BNB").map((b) => `${KRAKEN_NAME[b] ?? b}/USD`),
  coinbase: BASES.filter((b) => b !== "BNB").map((b) => `${b}-USD`),
};

/** Rough price levels (USD) so that generated trades look like the market. */
export const BASE_PRICE: Record<string, number> = {
  BTC: 95_000,
  ETH: 3_300,
  BNB: 650,
  SOL: 190,
  XRP: 2.3,
  ADA: 0.9,
  DOT: 7,
  LINK: 20,
  DOGE: 0.3,
  LTC: 110,
  AVAX: 35,
  ATOM: 8,
};

/** Share of total message rate per exchange (Binance is the busiest K2 feed). */
export const EXCHANGE_SHARE: Record<Exchange, number> = { binance: 0.5, coinbase: 0.3, kraken: 0.2 };

/** The base asset of a venue symbol: BTCUSDT -> BTC, XBT/USD -> BTC, DOGE-USD -> DOGE. */
export function baseAsset(exchange: Exchange, symbol: string): string {
  if (exchange === "binance") return symbol.replace(/USDT$/, "");
  const b = symbol.split(/[/-]/)[0]!;
  return exchange === "kraken" ? (Object.entries(KRAKEN_NAME).find(([, k]) => k === b)?.[0] ?? b) : b;
}
