// Optional overrides in k2.config.json (or the file K2_CONFIG names). Example:
//   { "discovery": {
//       "tables": ["silver_trades", "bronze_trades_binance"],
//       "columns": { "silver_trades": { "ingestionTime": "processed_at" } } } }
// Every value is checked on load; a bad one is a one-line error naming the file and key.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { usageError } from "../runtime/errors.ts";
import { ROOT } from "../runtime/paths.ts";

const ROLES = ["exchangeTime", "ingestionTime", "exchange", "symbol", "sequence"] as const;
export type Role = (typeof ROLES)[number];

export type K2Config = {
  discovery: { tables?: string[]; columns: Record<string, Partial<Record<Role, string>>> };
};

export function loadConfig(env: Record<string, string | undefined> = process.env): K2Config {
  const path = resolve(ROOT, env.K2_CONFIG ?? "k2.config.json");
  if (!existsSync(path)) {
    if (env.K2_CONFIG) throw usageError(`config file not found: ${path} (fix K2_CONFIG or create the file)`);
    return { discovery: { columns: {} } };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw usageError(`config file ${path} is not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, path);
}

export function parseConfig(raw: unknown, where = "config"): K2Config {
  const bad = (key: string, want: string, got: unknown) =>
    usageError(`invalid ${key} in ${where}: ${JSON.stringify(got)} (expected ${want})`);
  if (!isObject(raw)) throw bad("top level", "an object", raw);
  const d = raw.discovery ?? {};
  if (!isObject(d)) throw bad("discovery", "an object", d);
  const tables = d.tables;
  if (tables !== undefined && !(Array.isArray(tables) && tables.every((t) => typeof t === "string" && t)))
    throw bad("discovery.tables", "a list of table names", tables);
  const columns = d.columns ?? {};
  if (!isObject(columns)) throw bad("discovery.columns", "an object keyed by table", columns);
  for (const [table, roles] of Object.entries(columns)) {
    if (!isObject(roles)) throw bad(`discovery.columns.${table}`, "an object of role: column", roles);
    for (const [role, col] of Object.entries(roles)) {
      if (!(ROLES as readonly string[]).includes(role))
        throw bad(`discovery.columns.${table}.${role}`, `a role among ${ROLES.join(", ")}`, role);
      if (typeof col !== "string" || !col) throw bad(`discovery.columns.${table}.${role}`, "a column name", col);
    }
  }
  return {
    discovery: { tables: tables as string[] | undefined, columns: columns as K2Config["discovery"]["columns"] },
  };
}

function isObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
