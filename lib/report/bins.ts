// Log-spaced histogram bins computed by the engine: ten per decade, so a figure's size does not
// grow with the rows behind it.
import { sqlString } from "../io/clickhouse.ts";

/** One bin of logBinsSql: [x1, x2) holds n values. */
export type BinRow = { series: string; bin: number; x1: number; x2: number; n: number };

/** Bins of a positive value, `source` a table expression; zero and negative values are left out. */
export function logBinsSql(value: string, source: string, label: string, where = "1"): string {
  return `SELECT ${sqlString(label)} AS series, floor(log10(${value}) * 10) AS bin,
      pow(10, bin / 10) AS x1, pow(10, (bin + 1) / 10) AS x2, count() AS n
    FROM ${source} WHERE ${value} > 0 AND (${where}) GROUP BY bin ORDER BY bin`;
}
