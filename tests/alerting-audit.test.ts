// Can the alerts fire? The static audit against a platform-like checkout built with the faults FACTS.md lists, --write
// into a copy of it, and the live audit against Debian's prometheus on loopback scraping a mix of present and absent
// metrics: every absent one found, no present one flagged. And the stack's promtool through docker exec.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { alertMetrics, liveChains, stackRuleFindings } from "../lib/alerting/audit.ts";
import { gatherLive } from "../lib/alerting/live.ts";
import { ALERTS, ruleYaml } from "../lib/alerting/rules.ts";
import type { AlertingResult } from "../lib/alerting/summary.ts";
import { connectPrometheus, type RunningPrometheus, startPrometheus } from "../lib/io/prometheus.ts";
import { ensureDockerEngine, re, runCli, tempDir } from "./helpers.ts";

const PLATFORM = join(import.meta.dir, "fixtures", "platform");
const storedResult = async (dataDir: string): Promise<AlertingResult> => {
  const [run] = [...new Bun.Glob("04-alerting/*/result.json").scanSync({ cwd: dataDir })].sort().reverse();
  return Bun.file(join(dataDir, run!)).json();
};

describe("the static audit of a platform checkout", () => {
  const dir = tempDir("k2-audit-");
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: "unix:///nonexistent.sock" };
  test("finds the faults FACTS.md lists, and no alert can fire", async () => {
    const r = await runCli("notebooks/04-alerting.ts", ["--stack-config", PLATFORM], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`  checkout ${PLATFORM}: 0/7 alerts can fire`);
    const { checkout } = await storedResult(env.K2_DATA_DIR);
    // the faults FACTS.md lists, each named once, and nothing else
    const problems = checkout!.findings.map((f) => `${f.where}: ${f.problem}`);
    const expected = [
      /^docker\/prometheus\/prometheus.yml: rule_files "rules\/\*.yml" matches nothing inside the container/,
      /: no scrape job for exporter \(k2-pipeline at host.docker.internal:9464\/metrics\)/,
      /: job redpanda scrapes redpanda:9644\/metrics, not redpanda:9644\/public_metrics/,
      /: job clickhouse scrapes clickhouse:8123\/metrics, not clickhouse:9363\/metrics/,
      /: job iceberg-scheduler scrapes host.docker.internal:8000\/metrics: docker\/offload\/metrics.py serves only/,
      /: no Alertmanager target \(alertmanagers.targets is empty\)/,
      re(
        /rules\/iceberg-offload-alerts.yml: IcebergOffloadSchedulerDown /,
        /\(up\{job="iceberg-scheduler"\} == 0\) fires for good once the rules folder is mounted: /,
        /job iceberg-scheduler scrapes host.docker.internal:8000, which nothing /,
        /answers on$/,
      ),
      /k2-overview.json: panel 1 "Trades produced per handler": datasource uid "prometheus" is not set by provisioning/,
      /k2-overview.json: panel 1 "Trades produced per handler": uses feed_handler_trades_produced_total, which no K2/,
      re(
        /k2-overview.json: panel 2 "Offload lag": /,
        /datasource uid "prometheus" is not set by provisioning \(Prometheus: no/,
      ),
    ];
    expect(problems.length).toBe(expected.length);
    expected.forEach((re, i) => expect(problems[i]).toMatch(re));
    expect(checkout!.findings[0]!.problem).toContain(
      "so docker/prometheus/rules/ (iceberg-offload-alerts.yml) is never loaded",
    );
    for (const c of checkout!.chains) expect([c.status, c.broken[0]!.link]).toEqual(["FAIL", "rule"]);
    // past the rule, each chain names its component's broken link
    const second = Object.fromEntries(checkout!.chains.map((c) => [c.alert, c.broken[1]?.link]));
    expect(second).toEqual({
      FeedHandlerDown: "job",
      RedpandaConsumerLagHigh: "target",
      ClickHouseBronzeInsertFailure: "target",
      MVProcessingDelay: "job",
      IcebergOffloadLag: "job",
      IcebergOffloadFailure: "job",
      ServiceOOMKill: "job",
    });
  }, 30_000);
  test("--write: each diff shown first; files, mount and uid written; rules then load; again: no change", async () => {
    const co = join(dir, "checkout");
    cpSync(PLATFORM, co, { recursive: true });
    const r = await runCli("notebooks/04-alerting.ts", ["--write", co], env);
    expect(r.code).toBe(0);
    for (const f of [
      "docker/prometheus/rules/k2-alerts.yml",
      "docker/prometheus/tests/k2-alerts.test.yml",
      "docker/grafana/dashboards/k2-pipeline.json",
      "docker-compose.v2.yml",
      "docker/prometheus/prometheus.yml",
      "docker/grafana/provisioning/datasources/prometheus.yml",
    ])
      expect(r.stdout).toContain(`+++ b/${f}`);
    expect(r.stdout.indexOf("+++ b/docker-compose.v2.yml")).toBeLessThan(r.stdout.indexOf("alerting: promtool"));
    expect(r.stdout).toContain("+      - ./docker/prometheus/rules:/etc/prometheus/rules:ro");
    expect(readFileSync(join(co, "docker/prometheus/rules/k2-alerts.yml"), "utf8")).toBe(ruleYaml());
    // the test file outside the folder Prometheus loads (it would refuse it there), naming the rules from there
    expect(existsSync(join(co, "docker/prometheus/rules/k2-alerts.test.yml"))).toBe(false);
    expect(readFileSync(join(co, "docker/prometheus/tests/k2-alerts.test.yml"), "utf8")).toContain(
      "- ../rules/k2-alerts.yml",
    );
    // the platform's own files change by the lines needed and no others: every line kept, in order, and only these
    // added (the mount and extra_hosts; the datasource uid; the exporter's job)
    const added = { "docker-compose.v2.yml": 3, "docker/grafana/provisioning/datasources/prometheus.yml": 1 };
    for (const [f, n] of Object.entries({ ...added, "docker/prometheus/prometheus.yml": 4 })) {
      const before = readFileSync(join(PLATFORM, f), "utf8").split("\n");
      const after = readFileSync(join(co, f), "utf8").split("\n");
      let k = 0;
      for (const l of after) if (l === before[k]) k++;
      expect([f, k, after.length - before.length]).toEqual([f, before.length, n]);
    }
    expect(readFileSync(join(co, "docker-compose.v2.yml"), "utf8")).toContain(
      '    extra_hosts:\n      - "host.docker.internal:host-gateway"',
    );
    const { write, checklist } = await storedResult(env.K2_DATA_DIR);
    // and Prometheus still loads the checkout: promtool check config with the rules folder, the tests from theirs
    expect(write!.loads).toMatchObject({ ok: true });
    // what the mount loads for the first time is audited: the platform's rule that would fire for good is named
    expect(write!.after.findings.map((f) => f.problem)).toContainEqual(
      expect.stringMatching(/^IcebergOffloadSchedulerDown \(up\{job="iceberg-scheduler"\} == 0\) fires for good: job/),
    );
    for (const c of write!.after.chains) expect(c.broken.some((b) => b.link === "rule")).toBe(false);
    expect(write!.after.findings.some((f) => /datasource uid/.test(f.problem) && /k2-pipeline/.test(f.where))).toBe(
      false,
    );
    expect(checklist.at(-1)).toMatchObject({ status: "PASS" }); // the dashboard committed
    const again = await runCli("notebooks/04-alerting.ts", ["--write", co], env);
    expect(again.stdout).not.toContain("+++ b/");
    expect((await storedResult(env.K2_DATA_DIR)).write!.changes).toEqual([]);
  }, 60_000);
  test("--write that would leave Prometheus unable to start is refused, and every file put back", async () => {
    // what the old --write did: a promtool test file in the folder rule_files loads
    const co = join(dir, "checkout-broken");
    cpSync(PLATFORM, co, { recursive: true });
    writeFileSync(join(co, "docker/prometheus/rules/k2-alerts.test.yml"), "rule_files: [k2-alerts.yml]\ntests: []\n");
    const r = await runCli("notebooks/04-alerting.ts", ["--write", co], env);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^04-alerting: error: --write: Prometheus would not load .* every file was put back$/m);
    for (const f of ["docker-compose.v2.yml", "docker/grafana/provisioning/datasources/prometheus.yml"])
      expect(readFileSync(join(co, f), "utf8")).toBe(readFileSync(join(PLATFORM, f), "utf8"));
    expect(existsSync(join(co, "docker/prometheus/rules/k2-alerts.yml"))).toBe(false);
  }, 60_000);
  test("bad input: --write at a folder that is not a checkout, --stack-config at a file", async () => {
    const notCo = await runCli("notebooks/04-alerting.ts", ["--write", dir], env);
    expect([notCo.code, notCo.stderr.trim()]).toEqual([
      2,
      `04-alerting: error: invalid --write: ${dir} has no docker-compose.v2.yml (the platform's root?)`,
    ]);
    const file = await runCli("notebooks/04-alerting.ts", ["--stack-config", join(PLATFORM, "README.md")], env);
    expect([file.code, file.stderr.trim()]).toEqual([
      2,
      `04-alerting: error: invalid --stack-config: ${JSON.stringify(join(PLATFORM, "README.md"))} is not a folder ` +
        "(give the platform checkout's root)",
    ]);
  }, 30_000);
});

describe("the live audit against a real Prometheus", () => {
  // Two scrape targets served here: k2-pipeline with the trade and container facts but no offload ones, and a
  // redpanda one with its produced-records counter but no consumer lag; clickhouse points at a closed port.
  const exporter = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () =>
      new Response(
        [
          ...["binance", "kraken", "coinbase"].map(
            (e) => `k2_trades_newest_timestamp_seconds{exchange="${e}"} ${Date.now() / 1000}`,
          ),
          ...["binance", "kraken", "coinbase"].map((e) => `k2_ingestion_delay_avg_seconds{exchange="${e}"} 0.2`),
          'k2_container_restart_count{container="k2-clickhouse"} 0',
          'k2_container_oom_killed{container="k2-clickhouse"} 0',
          "",
        ].join("\n"),
      ),
  });
  const redpanda = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () =>
      new Response('redpanda_kafka_records_produced_total{redpanda_topic="market.crypto.trades.binance.raw"} 5\n'),
  });
  const stackRules = readFileSync(join(PLATFORM, "docker/prometheus/rules/iceberg-offload-alerts.yml"), "utf8");
  let prom: RunningPrometheus;
  const dir = tempDir("k2-live-");
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: "unix:///nonexistent.sock" };
  beforeAll(async () => {
    const job = (name: string, target: string) => ({ job_name: name, static_configs: [{ targets: [target] }] });
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: ["k2-alerts.yml", "iceberg-offload-alerts.yml"],
      scrape_configs: [
        job("k2-pipeline", `127.0.0.1:${exporter.port}`),
        { ...job("redpanda", `127.0.0.1:${redpanda.port}`), metrics_path: "/public_metrics" },
        job("clickhouse", "127.0.0.1:1"),
      ],
    };
    prom = await startPrometheus(JSON.stringify(config), {
      "k2-alerts.yml": ruleYaml(),
      "iceberg-offload-alerts.yml": stackRules,
    });
    // until every target has been scraped once and the rules evaluated
    const api = await connectPrometheus(prom.url);
    for (let i = 0; i < 100; i++) {
      const [targets, rules] = await Promise.all([api.targets(), api.rules()]);
      const scraped = targets.length === 3 && targets.every((t) => t.health !== "unknown");
      if (scraped && rules.length === ALERTS.length + 1 && rules.every((r) => r.health !== "unknown")) break;
      await Bun.sleep(200);
    }
  }, 30_000);
  afterAll(async () => {
    await prom?.stop();
    exporter.stop(true);
    redpanda.stop(true);
  });

  test("every absent metric is found with its broken link, and no present one is flagged", async () => {
    const facts = await gatherLive(await connectPrometheus(prom.url));
    const chains = liveChains(facts);
    const absent = new Set(chains.flatMap((c) => c.broken.map((b) => b.what)));
    const served = [
      "k2_trades_newest_timestamp_seconds",
      "k2_ingestion_delay_avg_seconds",
      "k2_container_restart_count",
    ];
    for (const m of served) expect([...absent].filter((w) => w.includes(m))).toEqual([]);
    const byAlert = Object.fromEntries(chains.map((c) => [c.alert, c.broken.map((b) => `${b.link}: ${b.what}`)]));
    expect(byAlert).toEqual({
      FeedHandlerDown: [],
      RedpandaConsumerLagHigh: [
        `metric: redpanda is up at http://127.0.0.1:${redpanda.port}/public_metrics but exposes no ` +
          "redpanda_kafka_consumer_group_lag_max",
      ],
      ClickHouseBronzeInsertFailure: [
        expect.stringMatching(/^target: clickhouse target http:\/\/127\.0\.0\.1:1\/metrics is down: .*refused/),
      ],
      MVProcessingDelay: [],
      IcebergOffloadLag: [
        `metric: k2-pipeline is up at http://127.0.0.1:${exporter.port}/metrics but exposes no k2_offload_lag_minutes`,
      ],
      IcebergOffloadFailure: [
        `metric: k2-pipeline is up at http://127.0.0.1:${exporter.port}/metrics but exposes no ` +
          "k2_offload_consecutive_failures",
      ],
      ServiceOOMKill: [],
    });
    // every metric the seven alerts need was asked, and the chain says which are there
    expect(Object.keys(facts.series)).toEqual(expect.arrayContaining(ALERTS.flatMap(alertMetrics)));
    expect(chains.find((c) => c.alert === "FeedHandlerDown")!.chain).toEqual([
      `rule loaded (${prom.dir}/k2-alerts.yml, ok)`,
      "k2_trades_newest_timestamp_seconds (3 series, job k2-pipeline; exchange: binance, coinbase, kraken)",
    ]);
    // the stack's own rule, over a metric no target exposes
    expect(stackRuleFindings(facts).map((f) => f.problem)).toEqual([
      expect.stringMatching(/^uses offload_lag_minutes, which no target exposes now \(no scrape job iceberg-scheduler/),
    ]);
  });
  test("the notebook against it: the chains in the report, --gate exits 6 on an alert that cannot fire", async () => {
    const r = await runCli("notebooks/04-alerting.ts", ["--gate"], { ...env, PROMETHEUS_URL: prom.url });
    expect(r.code).toBe(6);
    expect(r.stdout).toContain(`  live ${prom.url}: 3/7 alerts can fire`);
    expect(readFileSync(join(env.K2_OUT_DIR, "04-alerting.md"), "utf8")).toContain(
      "## Can the alerts fire? (live Prometheus)",
    );
  }, 30_000);
  test("an unreachable PROMETHEUS_URL: exit 3, one line, and the static parts still rendered", async () => {
    const r = await runCli("notebooks/04-alerting.ts", [], { ...env, PROMETHEUS_URL: "http://127.0.0.1:1" });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(
      re(
        /^04-alerting: error: Prometheus not reachable at http:\/\/127\.0\.0\.1:1 /,
        /\(.*\): start it or set PROMETHEUS_URL$/,
      ),
    );
    const md = readFileSync(join(env.K2_OUT_DIR, "04-alerting.md"), "utf8");
    expect(md).toContain("## promtool");
    expect(md).toContain("## Dashboard");
  }, 30_000);
});

test("promtool inside k2-prometheus (as K2's image ships it) judges the rules when the container runs", async () => {
  const host = await ensureDockerEngine();
  const { connectDocker } = await import("../lib/io/docker.ts");
  const { ensureLabStack } = await import("../lib/lab/stack.ts");
  const { findPromtool, judge } = await import("../lib/alerting/promtool.ts");
  const docker = await connectDocker({ DOCKER_HOST: host });
  await ensureLabStack(docker);
  const p = await findPromtool(docker.docker);
  expect(p.where).toMatch(/^the stack's promtool 2\.\d+\.\d+\S* \(docker exec k2-prometheus promtool\)$/);
  const v = await judge(p);
  expect(v.check.output).toContain("SUCCESS: 7 rules found");
  expect(v.coverage.missing).toEqual([]);
}, 120_000);
