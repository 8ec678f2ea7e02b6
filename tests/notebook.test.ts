// The notebooks and CLIs as a user runs them: subprocesses with their own data/ and out/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ClickHouseServer, re, runCli, startClickHouseServer, strayFiles, tempDir } from "./helpers.ts";

const SECRET = "Zq7-never-print-me";

describe("notebooks/lab.ts", () => {
  const dir = tempDir();
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), CLICKHOUSE_PASSWORD: SECRET };
  let live: Awaited<ReturnType<typeof runCli>>;
  beforeAll(async () => {
    live = await runCli("notebooks/lab.ts", ["--duration", "6s", "--rate", "2x", "--seed", "9"], env);
  }, 120_000);

  test("a live run stores data, a manifest and both reports", () => {
    expect(live.stderr).toContain("lab replay [");
    expect(live.code).toBe(0);
    expect(live.stdout).toMatch(/^lab: 6\.0 s at 100 msg\/s, seed 9: \d+ trades sent/);
    expect(live.stdout).toContain("binance");
    const runs = readdirSync(join(env.K2_DATA_DIR, "lab")).filter((n) => !n.startsWith("."));
    expect(runs.length).toBe(1);
    const m = JSON.parse(readFileSync(join(env.K2_DATA_DIR, "lab", runs[0]!, "manifest.json"), "utf8"));
    expect(m).toMatchObject({ notebook: "lab", parameters: { rate: 100, seed: 9 }, target: { kind: "embedded" } });
    expect(Object.keys(m.datasets).sort()).toEqual(["counts", "discovery", "lags", "ohlcv", "replay"]);
    expect(m.versions.clickhouse).toMatch(/^2\d\./);
  });
  test("the HTML is self-contained: inline SVG, no script, no remote resource", () => {
    const page = readFileSync(join(env.K2_OUT_DIR, "lab.html"), "utf8");
    expect((page.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toMatch(/https?:\/\//);
    expect(page).toContain("UNRESOLVED");
    const md = readFileSync(join(env.K2_OUT_DIR, "lab.md"), "utf8");
    expect(md).toContain("| Exchange | Symbols | Generated | Sent |");
  });
  test("no secret reaches data/ or out/", () => {
    const glob = new Bun.Glob("**/*.{json,md,html}");
    for (const root of [env.K2_DATA_DIR, env.K2_OUT_DIR])
      for (const f of glob.scanSync({ cwd: root })) expect(readFileSync(join(root, f), "utf8")).not.toContain(SECRET);
  });
  test("--from latest re-renders with ClickHouse unreachable", async () => {
    const before = statSync(join(env.K2_OUT_DIR, "lab.html")).mtimeMs;
    const r = await runCli("notebooks/lab.ts", ["--from", "latest"], { ...env, CLICKHOUSE_URL: "http://127.0.0.1:1" });
    expect(r.stderr).toContain("re-rendering stored run");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(live.stdout.split("\n")[0]);
    expect(statSync(join(env.K2_OUT_DIR, "lab.html")).mtimeMs).toBeGreaterThan(before);
  });

  // Each bad input: one line naming the problem and the fix, a non-zero exit, nothing half-written.
  const bad: [string, string[], Record<string, string>, number, RegExp][] = [
    [
      "a malformed flag value",
      ["--duration", "soon"],
      {},
      2,
      /^lab: error: invalid --duration: "soon" \(expected e\.g\. 250ms, 60s, 5m, 3m20s, 24h\)$/,
    ],
    [
      "an unknown flag",
      ["--speed", "3"],
      {},
      2,
      /^lab: error: Unknown option '--speed'.*\(see bun notebooks\/lab\.ts --help\)$/,
    ],
    [
      "an unknown run id",
      ["--from", "20200101T000000Z-dead"],
      {},
      4,
      /^lab: error: unknown run id 20200101T000000Z-dead for lab \(latest is \S+; 1 stored in data\/lab\/\)$/,
    ],
    ["a path as run id", ["--from", "../../etc"], {}, 2, /^lab: error: invalid run id: "\.\.\/\.\.\/etc"/],
    [
      "a server as the lab's target",
      [],
      { CLICKHOUSE_URL: "http://127.0.0.1:1" },
      2,
      /^lab: error: the lab runs on the embedded engine only.*unset it or set CLICKHOUSE_URL=chdb:\/\/<folder>$/,
    ],
    ["a malformed config file", [], { K2_CONFIG: "BADCONFIG" }, 2, /^lab: error: config file \S+ is not valid JSON/],
    [
      "a malformed config value",
      [],
      { K2_CONFIG: "BADVALUE" },
      2,
      /^lab: error: invalid discovery\.columns\.silver_trades\.arrival in \S+: "arrival" \(expected a role among/,
    ],
    ["a malformed delay", ["--delay", "gamma:2"], {}, 2, /^lab: error: invalid delay: "gamma:2"/],
  ];
  for (const [what, args, extra, code, message] of bad)
    test(`bad input: ${what}`, async () => {
      const cfg = join(dir, `${extra.K2_CONFIG}.json`);
      if (extra.K2_CONFIG === "BADCONFIG") writeFileSync(cfg, "{ discovery: ");
      if (extra.K2_CONFIG === "BADVALUE")
        writeFileSync(cfg, JSON.stringify({ discovery: { columns: { silver_trades: { arrival: "x" } } } }));
      const html = readFileSync(join(env.K2_OUT_DIR, "lab.html"), "utf8");
      const runsBefore = readdirSync(join(env.K2_DATA_DIR, "lab"));
      const r = await runCli("notebooks/lab.ts", args, {
        ...env,
        ...extra,
        ...(extra.K2_CONFIG ? { K2_CONFIG: cfg } : {}),
      });
      expect(r.code).toBe(code);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(readFileSync(join(env.K2_OUT_DIR, "lab.html"), "utf8")).toBe(html);
      expect(readdirSync(join(env.K2_DATA_DIR, "lab"))).toEqual(runsBefore);
      expect(strayFiles(dir)).toEqual([]);
    });
  test("bad input: a corrupt Parquet file", async () => {
    const [run] = readdirSync(join(env.K2_DATA_DIR, "lab")).filter((n) => !n.startsWith("."));
    const copy = join(env.K2_DATA_DIR, "lab", "corrupt-copy");
    cpSync(join(env.K2_DATA_DIR, "lab", run!), copy, { recursive: true });
    truncateSync(join(copy, "lags.parquet"), 100);
    const r = await runCli("notebooks/lab.ts", ["--from", "corrupt-copy"], env);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("re-rendering stored run corrupt-copy");
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(
      re(
        /^lab: error: cannot read lags\.parquet in \S+corrupt-copy \(.*\):/,
        / the file is corrupt or truncated; re-run the notebook without --from to fetch again$/,
      ),
    );
    expect(strayFiles(dir)).toEqual([]);
  });
  test("--help lists every option and exits 0", async () => {
    const r = await runCli("notebooks/lab.ts", ["--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--duration",
      "--rate",
      "--delay",
      "--flush",
      "--fault",
      "--seed",
      "--from",
      "--gate",
      "--watch",
    ])
      expect(r.stdout).toContain(flag);
  });
});

describe("bun run discover against a real clickhouse-server", () => {
  let server: ClickHouseServer;
  beforeAll(async () => {
    server = await startClickHouseServer(SECRET);
    const q = (sql: string) =>
      fetch(`${server.url}/?user=default&password=${SECRET}`, { method: "POST", body: sql }).then((r) => r.text());
    await q("CREATE DATABASE k2");
    await q(
      "CREATE TABLE k2.silver_trades (trade_id String, symbol String, price Float64, exchange String) ENGINE = " +
        "MergeTree ORDER BY trade_id",
    );
  });
  afterAll(async () => {
    await server?.stop();
  });
  const discover = (env: Record<string, string>) =>
    runCli("lib/k2/discover-cli.ts", [], { CLICKHOUSE_URL: server.url, CLICKHOUSE_PASSWORD: SECRET, ...env });

  test("a column that cannot be mapped: the table and the columns found", async () => {
    const r = await discover({});
    expect(r.code).toBe(4);
    expect(r.stderr.trim()).toBe(
      "discover: error: cannot map the exchangeTime column of k2.silver_trades: no time column among " +
        "exchange_timestamp/exchange_time/trade_time/timestamp/event_time; found: trade_id String, symbol String, " +
        'price Float64, exchange String; set discovery.columns["silver_trades"].exchangeTime in k2.config.json',
    );
  });
  test("wrong password, unknown database, unreachable", async () => {
    const wrong = await discover({ CLICKHOUSE_PASSWORD: "not-it-at-all" });
    expect([wrong.code, wrong.stderr.trim()]).toEqual([
      3,
      `discover: error: ClickHouse refused the login at ${server.url} as default: wrong user or password; set ` +
        `CLICKHOUSE_USER / CLICKHOUSE_PASSWORD in .env`,
    ]);
    const db = await discover({ CLICKHOUSE_DATABASE: "k3" });
    expect(db.code).toBe(4);
    expect(db.stderr.trim()).toMatch(
      /^discover: error: unknown database k3 \(found: .*k2.*\): set CLICKHOUSE_DATABASE$/,
    );
    const down = await discover({ CLICKHOUSE_URL: "http://127.0.0.1:1" });
    expect(down.code).toBe(3);
    expect(down.stderr).toContain("ClickHouse not reachable at http://127.0.0.1:1");
    for (const r of [wrong, db, down]) expect(r.stderr + r.stdout).not.toContain(SECRET);
  });
  test("an unknown table named in the config", async () => {
    const cfg = join(tempDir(), "k2.config.json");
    writeFileSync(cfg, JSON.stringify({ discovery: { tables: ["bronze_trades_bitstamp"] } }));
    const r = await discover({ K2_CONFIG: cfg });
    expect(r.code).toBe(4);
    expect(r.stderr.trim()).toBe(
      "discover: error: unknown table k2.bronze_trades_bitstamp (found: silver_trades); fix discovery.tables in " +
        "k2.config.json",
    );
  });
});
