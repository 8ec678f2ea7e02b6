// Runbooks checked, not just written: the template's sections in each; every critical alert's runbook_url leads to
// one; every alert a runbook names exists in the rules; every container, compose service and network a command names
// exists (in the platform's service list, and on the Docker engine when one answers); every SQL statement is checked
// by the engine (EXPLAIN, or the table it attaches exists). The names come from the target, as discovered.

import { ALERTS } from "../alerting/rules.ts";
import type { Db } from "../io/clickhouse.ts";
import type { K2Config } from "../k2/config.ts";
import { discoverTradeTables, silverOf } from "../k2/discovery.ts";
import { discoverKafkaSettings } from "../k2/kafka.ts";
import { SERVICES } from "../k2/stack.ts";
import { firstLine } from "../runtime/errors.ts";
import type { Status } from "../verdict/status.ts";
import { type Command, K2_NAMES, type Names, type Runbook } from "./catalog.ts";
import { SECTIONS } from "./render.ts";

export type RunbookCheck = { runbook: string; check: string; status: Status; detail: string };
/** What exists on the target's Docker engine: null when none answers (the commands are checked by name only). */
export type Present = { containers: string[]; networks: string[] } | null;

/** The target's names: silver's columns as discovery maps them, and the view that fills silver from binance. */
export async function discoverNames(
  db: Db,
  database: string,
  config: K2Config,
  network: string,
  watermarks: Names["watermarks"] = K2_NAMES.watermarks,
): Promise<Names> {
  const silver = silverOf(await discoverTradeTables(db, database, config));
  const flush = await discoverKafkaSettings(db, database);
  const [mv] = await db.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = '${database}' AND engine = 'MaterializedView' ` +
      `AND create_table_query LIKE '%${silver.table}%' AND create_table_query LIKE '%bronze_trades_binance%'`,
  );
  return {
    database,
    silver: silver.table.replace(/^.*\./, ""), // discovery qualifies it: "k2.silver_trades"
    exchangeTime: silver.exchangeTime.column,
    processed: silver.finerIngestion?.column ?? silver.ingestionTime.column,
    exchange: "column" in silver.exchange ? silver.exchange.column : K2_NAMES.exchange,
    network,
    silverMv: mv?.name ?? K2_NAMES.silverMv,
    windowS: Math.max(5, Math.ceil((2 * Math.max(0, ...flush.map((k) => k.flushIntervalMs))) / 1000) + 1),
    watermarks,
  };
}

export function checkTexts(books: Runbook[], texts: Record<string, string>): RunbookCheck[] {
  const out: RunbookCheck[] = [];
  for (const r of books) {
    const text = texts[r.file] ?? "";
    const missing = SECTIONS.filter((s) => !new RegExp(`^## ${s}$`, "m").test(text));
    out.push({
      runbook: r.name,
      check: "template sections",
      status: missing.length ? "FAIL" : "PASS",
      detail: missing.length ? `missing: ${missing.join(", ")}` : SECTIONS.join(", "),
    });
    const unknown = r.alerts.filter((a) => !ALERTS.some((x) => x.name === a));
    out.push({
      runbook: r.name,
      check: "alerts named exist",
      status: unknown.length ? "FAIL" : "PASS",
      detail: unknown.length ? `not in the rules: ${unknown.join(", ")}` : r.alerts.join(", "),
    });
  }
  for (const a of ALERTS.filter((x) => x.severity === "critical")) {
    const file = a.runbook.split("/").at(-1)!;
    const r = books.find((b) => b.file === file);
    const ok = r && out.some((c) => c.runbook === r.name && c.check === "template sections" && c.status === "PASS");
    out.push({
      runbook: r?.name ?? file,
      check: `runbook_url of ${a.name}`,
      status: ok ? "PASS" : "FAIL",
      detail: ok ? `${a.runbook}: a runbook with every template section` : `${a.runbook} is not a complete runbook`,
    });
  }
  return out;
}

const CONTAINERS = new Set(SERVICES.map((s) => s.container));
const COMPOSE_SERVICES = new Set(SERVICES.map((s) => s.service));

/** Every name a shell command uses, against the platform's list and what the engine has. */
function shellCheck(c: Command & { shell: string }, present: Present, network: string): string[] {
  const problems: string[] = [];
  // "--filter name=k2-feed-handler" is a prefix, not a container; the network's name (k2-lab_k2-net) is not one either
  const words = c.shell.split(` ${network} `).join(" ");
  const containers = [...words.matchAll(/(?<!name=)\bk2-[a-z0-9-]+/g)].map((m) => m[0]);
  for (const n of new Set(containers)) {
    if (!CONTAINERS.has(n)) problems.push(`${n} is not a K2 container`);
    else if (present && !present.containers.includes(n)) problems.push(`${n} is not on the Docker engine`);
  }
  const svc = / --no-deps (\S+)/.exec(c.shell)?.[1];
  if (svc && !COMPOSE_SERVICES.has(svc)) problems.push(`${svc} is not a compose service`);
  if (c.shell.includes(` ${network} `) && present && !present.networks.includes(network))
    problems.push(`network ${network} does not exist`);
  return problems;
}

/** The engine's word on a statement: EXPLAIN for a query; for ATTACH/DETACH, that the table exists. */
async function sqlCheck(db: Db, sql: string): Promise<string[]> {
  const attach = /^(?:ATTACH|DETACH) TABLE (\w+)\.(\w+)/.exec(sql);
  try {
    if (attach) {
      const [t] = await db.query<{ n: number }>(
        `SELECT count() AS n FROM system.tables WHERE database = '${attach[1]}' AND name = '${attach[2]}'`,
      );
      return Number(t?.n) ? [] : [`no table ${attach[1]}.${attach[2]}`];
    }
    await db.query(`EXPLAIN ${sql}`);
    return [];
  } catch (e) {
    return [firstLine(e).slice(0, 200)];
  }
}

export async function checkCommands(books: Runbook[], db: Db, present: Present, names: Names): Promise<RunbookCheck[]> {
  const out: RunbookCheck[] = [];
  for (const r of books) {
    const problems: string[] = [];
    let count = 0;
    for (const c of [...r.diagnosis, ...r.resolution, r.verify]) {
      count++;
      problems.push(...("sql" in c ? await sqlCheck(db, c.sql) : shellCheck(c, present, names.network)));
    }
    out.push({
      runbook: r.name,
      check: "commands refer to what exists",
      status: problems.length ? "FAIL" : "PASS",
      detail: problems.length
        ? problems.join("; ")
        : `${count} commands: containers${present ? " on the engine" : " by name (no Docker engine)"}, SQL by EXPLAIN`,
    });
  }
  return out;
}
