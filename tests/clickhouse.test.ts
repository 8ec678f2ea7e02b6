// The factory against real engines: the embedded one (chdb, through @clickhouse/client's
// connection hook) and a real clickhouse-server over HTTP on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { connectClickHouse, describeTarget, localEngine, targetFromEnv } from "../lib/io/clickhouse.ts";
import { K2Error } from "../lib/runtime/errors.ts";
import { type ClickHouseServer, re, startClickHouseServer, tempDir, testEngine } from "./helpers.ts";

describe("targetFromEnv", () => {
  test("no URL means the embedded lab; chdb:// names a folder; http names a server", () => {
    expect(targetFromEnv({}).kind).toBe("embedded");
    expect(targetFromEnv({ CLICKHOUSE_URL: "chdb:///tmp/x" })).toEqual({
      kind: "embedded",
      path: "/tmp/x",
      database: "k2",
      lab: false,
    });
    const s = targetFromEnv({ CLICKHOUSE_URL: "http://localhost:8123", CLICKHOUSE_PASSWORD: "pw-123" });
    expect(s).toMatchObject({ kind: "server", user: "default", password: "pw-123" });
    expect(describeTarget(s)).not.toContain("pw-123");
  });
  test("rejects a malformed URL without echoing a password", () => {
    expect(() => targetFromEnv({ CLICKHOUSE_URL: "ftp://u:hunter2@x" })).toThrow(
      /invalid CLICKHOUSE_URL: "ftp:\/\/u:\*\*\*@x"/,
    );
    expect(() => targetFromEnv({ CLICKHOUSE_DATABASE: "k2; DROP" })).toThrow("invalid CLICKHOUSE_DATABASE");
  });
});

describe("embedded engine through @clickhouse/client", () => {
  test("command, insert, query", async () => {
    const t = await testEngine();
    expect(t.kind).toBe("embedded");
    expect(t.version).toMatch(/^2\d\./);
    await t.command("CREATE DATABASE IF NOT EXISTS t_client");
    await t.command("CREATE OR REPLACE TABLE t_client.x (n UInt32, s String) ENGINE = MergeTree ORDER BY n");
    await t.insert("t_client.x", [
      { n: 1, s: "a" },
      { n: 2, s: "<b>" },
    ]);
    expect(await t.query("SELECT n, s FROM t_client.x ORDER BY n")).toEqual([
      { n: 1, s: "a" },
      { n: 2, s: "<b>" },
    ]);
  });
  test("exportParquet by the engine and through the client give the same rows", async () => {
    const t = await testEngine(),
      dir = tempDir();
    const sql = "SELECT number AS n, toString(number) AS s FROM numbers(100000)";
    const a = await t.exportParquet(sql, join(dir, "engine.parquet"), "engine");
    const b = await t.exportParquet(sql, join(dir, "client.parquet"), "client");
    expect(a.bytes).toBeGreaterThan(1000);
    expect(b.bytes).toBeGreaterThan(1000);
    for (const f of ["engine", "client"])
      expect(await t.query(`SELECT count() AS c, sum(n) AS s FROM file('${dir}/${f}.parquet', Parquet)`)).toEqual([
        { c: 100000, s: 4999950000 },
      ]);
  });
  test("a failed export leaves no file", async () => {
    const t = await testEngine(),
      dir = tempDir();
    await expect(t.exportParquet("SELECT * FROM t_client.missing", join(dir, "x.parquet"))).rejects.toThrow(
      /unknown table/,
    );
    expect([...new Bun.Glob("*").scanSync({ cwd: dir, dot: true })]).toEqual([]);
  });
  test("one engine per process: a second folder is refused by name", async () => {
    await testEngine();
    await expect(
      connectClickHouse({ kind: "embedded", path: "/tmp/elsewhere", database: "k2", lab: true }),
    ).rejects.toThrow(/already open at .*one engine per process/);
    expect(localEngine()).toBe((await testEngine()).client); // readers reuse the open engine
  });
  test("the embedded engine has no system.query_log", async () => {
    const t = await testEngine();
    expect(t.hasQueryLog).toBe(false);
    await expect(t.query("SELECT count() FROM system.query_log")).rejects.toThrow(/unknown table/);
  });
});

describe("a real clickhouse-server over HTTP", () => {
  let server: ClickHouseServer;
  beforeAll(async () => {
    server = await startClickHouseServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const spec = (over: object = {}) => ({
    kind: "server" as const,
    url: server.url,
    user: "default",
    password: server.password,
    database: "k2",
    ...over,
  });

  test("query, command and insert with the password", async () => {
    const t = await connectClickHouse(spec());
    expect(t.version).toBe("18.16.1");
    await t.command("CREATE DATABASE IF NOT EXISTS k2");
    await t.command("CREATE TABLE IF NOT EXISTS k2.x (n UInt32) ENGINE = MergeTree ORDER BY n");
    await t.insert("k2.x", [{ n: 7 }]);
    expect(await t.query("SELECT n FROM k2.x")).toEqual([{ n: 7 }]);
    await t.close();
  });
  test("wrong password: one line naming the fix, never the password", async () => {
    const err = await connectClickHouse(spec({ password: "Not-The-Password-9" })).catch((e) => e);
    expect(err).toBeInstanceOf(K2Error);
    expect(err.message).toBe(
      `ClickHouse refused the login at ${server.url} as default: wrong user or password; set CLICKHOUSE_USER / ` +
        `CLICKHOUSE_PASSWORD in .env`,
    );
    expect(err.exitCode).toBe(3);
  });
  test("unknown database and unknown table", async () => {
    const t = await connectClickHouse(spec());
    await expect(t.query("SELECT * FROM nodb.trades")).rejects.toThrow(
      /^unknown database at .*Database nodb doesn't exist.*set CLICKHOUSE_DATABASE/,
    );
    await expect(t.query("SELECT * FROM k2.trades")).rejects.toThrow(
      /^unknown table at .*Table k2.trades doesn't exist/,
    );
  });
  test("unreachable: the URL and the fix", async () => {
    const err = await connectClickHouse(spec({ url: "http://127.0.0.1:1" })).catch((e) => e);
    expect(err.message).toMatch(
      re(
        /^ClickHouse not reachable at http:\/\/127.0.0.1:1 as default/,
        / \(.*ECONNREFUSED.*\): start it or fix CLICKHOUSE_URL in .env$/,
      ),
    );
    expect(err.exitCode).toBe(3);
  });
});
