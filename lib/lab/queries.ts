// SQL the lab notebook stores: the engine counts, joins and computes lags; JS only renders.
import { exchangeExpr, lagClock, type Mapping } from "../k2/discovery.ts";
import { LAB_TRUTH_DB, TIMEFRAMES } from "./schema.ts";

/** Per exchange and symbol: what the replayer generated and sent, and what landed in each layer. */
export function countsSql(bronze: Mapping[], silver: Mapping, truthDb = LAB_TRUTH_DB): string {
  const b = bronze
    .map(
      (m) =>
        `SELECT ${exchangeExpr(m)} AS exchange, toString(\`${m.symbol}\`) AS symbol, count() AS n FROM ${m.table} ` +
        `GROUP BY symbol`,
    )
    .join(" UNION ALL ");
  return (
    `WITH truth AS (
      SELECT toString(exchange) AS exchange, symbol, count() AS generated, countIf(status = 'sent') AS sent,
             countIf(status = 'dropped') AS dropped, countIf(status = 'silenced') AS silenced
      FROM ${truthDb}.sent GROUP BY exchange, symbol),
    bronze AS (${b}),
    silver AS (SELECT ${exchangeExpr(silver)} AS exchange, toString(\`${silver.symbol}\`) AS symbol, count() AS n ` +
    `FROM ${silver.table} GROUP BY exchange, symbol)
    SELECT t.exchange AS exchange, t.symbol AS symbol, generated, sent, dropped, silenced, ifNull(b.n, 0) AS bronze,
      ifNull(s.n, 0) AS silver
    FROM truth AS t LEFT JOIN bronze AS b ON b.exchange = t.exchange AND b.symbol = t.symbol
    LEFT JOIN silver AS s ON s.exchange = t.exchange AND s.symbol = t.symbol
    ORDER BY exchange, symbol`
  );
}

/** Per gold timeframe and exchange: trades counted by the OHLCV tables against silver. */
export function ohlcvSql(database: string, silver: Mapping): string {
  const gold = TIMEFRAMES.map(
    ([tf]) =>
      `SELECT '${tf}' AS timeframe, toString(exchange) AS exchange, sum(trade_count) AS n, ` +
      `uniqExact(canonical_symbol, window_start) AS candles FROM ${database}.ohlcv_${tf} GROUP BY exchange`,
  ).join(" UNION ALL ");
  return `SELECT g.timeframe AS timeframe, g.exchange AS exchange, toUInt64(g.n) AS ohlcv_trades, g.candles AS
    candles, toUInt64(ifNull(s.n, 0)) AS silver_trades
    FROM (${gold}) AS g LEFT JOIN (SELECT ${exchangeExpr(silver)} AS exchange, count() AS n FROM ${silver.table} GROUP
      BY exchange) AS s ON s.exchange = g.exchange
    ORDER BY indexOf([${TIMEFRAMES.map(([tf]) => `'${tf}'`).join(",")}], timeframe), exchange`;
}

/**
 * One row per silver trade: the lag by the fine clock (when the silver MV processed it) and
 * by the mapped ingestion column, both against the exchange's clock, with the delay the
 * replayer drew for it (ground truth).
 */
export function lagsSql(silver: Mapping, truthDb = LAB_TRUTH_DB): string {
  const ex = `\`${silver.exchangeTime.column}\``;
  const fine = lagClock(silver);
  return (
    `SELECT s.exchange AS exchange, s.symbol AS symbol, s.seq AS sequence_number, s.ts AS exchange_ts,
      s.fine_lag_ms AS lag_ms, s.coarse_lag_ms AS lag_ingestion_ms, t.delay_ms AS injected_delay_ms
    FROM (SELECT ${exchangeExpr(silver)} AS exchange, toString(\`${silver.symbol}\`) AS symbol, ` +
    `toUInt64(\`${silver.sequence}\`) AS seq, ${ex} AS ts,
            dateDiff('microsecond', ${ex}, \`${fine.column}\`) / 1000 AS fine_lag_ms,
            dateDiff('microsecond', ${ex}, \`${silver.ingestionTime.column}\`) / 1000 AS coarse_lag_ms
          FROM ${silver.table}) AS s
    LEFT JOIN (SELECT toString(exchange) AS exchange, symbol, sequence_number, delay_ms FROM ${truthDb}.sent) AS t
      ON t.exchange = s.exchange AND t.symbol = s.symbol AND t.sequence_number = s.seq
    ORDER BY exchange_ts`
  );
}
