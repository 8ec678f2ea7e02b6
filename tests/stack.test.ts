// The lab's containers on a real Docker engine: what ensureLabStack leaves behind for the
// notebooks, whatever state an earlier session or a daemon restart left.
import { beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyFault, clearFault, endpointMissing, endpointOf } from "../lib/faults/docker.ts";
import { type JournalEntry, readJournal } from "../lib/faults/journal.ts";
import { connectDocker, type DockerTarget, execIn } from "../lib/io/docker.ts";
import { clickhouseNetwork } from "../lib/k2/network.ts";
import { SERVICES } from "../lib/k2/stack.ts";
import { ensureLabStack, IDLE, LAB_NET, labLabels, runLabContainer } from "../lib/lab/stack.ts";
import { ensureDockerEngine, tempDir } from "./helpers.ts";

let t: DockerTarget;
beforeAll(async () => {
  t = await connectDocker({ DOCKER_HOST: await ensureDockerEngine() });
}, 60_000);

test("ensureLabStack: services restart unless-stopped (back after a daemon restart), the one-shot init never; an " +
  "exited container of an older spec is rebuilt", async () => {
  // What a daemon restart left of a lab made before restart policies: an exited container with none.
  const grafana = SERVICES.find((s) => s.service === "grafana")!;
  await t.docker
    .getContainer(grafana.container)
    .remove({ force: true })
    .catch(() => {});
  await (await runLabContainer(t, { name: grafana.container, labels: labLabels(grafana), cmd: IDLE })).stop({ t: 1 });
  expect((await t.docker.getContainer(grafana.container).inspect()).State.Status).toBe("exited");

  (await ensureLabStack(t)).close();
  const policies = Object.fromEntries(
    await Promise.all(
      SERVICES.map(async (s) => {
        const i = await t.docker.getContainer(s.container).inspect();
        return [s.container, `${i.HostConfig.RestartPolicy?.Name || "no"}${s.oneShot ? "" : `, ${i.State.Status}`}`];
      }),
    ),
  );
  expect(policies["k2-redpanda-init"]).toBe("no");
  for (const s of SERVICES.filter((x) => !x.oneShot))
    expect(`${s.container}: ${policies[s.container]}`).toBe(`${s.container}: unless-stopped, running`);
}, 120_000);

test("a lab folder removed and made again (rm -rf data): the containers that mount it are rebuilt and see the new " +
  "one", async () => {
  const before = process.env.K2_DATA_DIR,
    shared = process.env.K2_LAB_STACK_DIR;
  process.env.K2_DATA_DIR = join(tempDir(), "data");
  delete process.env.K2_LAB_STACK_DIR; // the folder under data/, as a user has it (bun run test shares one per lane)
  try {
    (await ensureLabStack(t)).close();
    const redpanda = t.docker.getContainer("k2-redpanda");
    const id = (await redpanda.inspect()).Id;
    rmSync(process.env.K2_DATA_DIR, { recursive: true });
    (await ensureLabStack(t)).close();
    const now = await redpanda.inspect();
    expect(now.Id).not.toBe(id);
    writeFileSync(join(process.env.K2_DATA_DIR, "lab-stack", "topics", "seen"), "new folder\n");
    expect(await execIn(redpanda, ["cat", "/lab/topics/seen"])).toEqual({ exitCode: 0, output: "new folder" });
    // the same folder again: nothing rebuilt
    (await ensureLabStack(t)).close();
    expect((await redpanda.inspect()).Id).toBe(now.Id);
  } finally {
    // an unset variable must stay unset (assigning undefined would store the string "undefined")
    if (before === undefined) delete process.env.K2_DATA_DIR;
    else process.env.K2_DATA_DIR = before;
    if (shared !== undefined) process.env.K2_LAB_STACK_DIR = shared;
  }
}, 120_000);

test("a cleared partition restores the static address and aliases exactly; a plain connect loses both", async () => {
  // As compose gives k2-clickhouse on k2-net: a fixed IPv4 address and its service name as alias. An internal network
  // of the test's own (nothing is sent over it), with a subnet so that an address can be fixed.
  const net = "k2t-endpoint-net";
  const name = "k2t-endpoint";
  const data = tempDir("k2-endpoint-");
  const saved = process.env.K2_DATA_DIR;
  process.env.K2_DATA_DIR = data; // the journal is written under it
  await t.docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => {}); // none left from an earlier run: fine
  for (const n of await t.docker.listNetworks({ filters: { name: [net] } })) await t.docker.getNetwork(n.Id).remove();
  await t.docker.createNetwork({
    Name: net,
    Internal: true,
    Labels: { "com.k2.lab": "true" },
    IPAM: { Config: [{ Subnet: "10.213.7.0/24" }] },
  });
  const network = { name: net, aliases: [name] };
  const c = await runLabContainer(t, { name, labels: { "com.k2.lab": "true" }, cmd: IDLE, network });
  await t.docker.getNetwork(net).disconnect({ Container: name });
  await t.docker.getNetwork(net).connect({
    Container: name,
    EndpointConfig: { IPAMConfig: { IPv4Address: "10.213.7.20" }, Aliases: ["clickhouse"] },
  });
  try {
    const entry: JournalEntry = { test: "t", container: name, action: "disconnect", network: net, at: "", pid: 0 };
    await applyFault(t, entry);
    expect(readJournal()[0]!.endpoint).toEqual({ ipv4: "10.213.7.20", aliases: ["clickhouse"] });
    expect(endpointOf(await c.inspect(), net)).toBeNull();
    await clearFault(t, readJournal()[0]!); // as a run after a SIGKILL would: from the journal on disk
    expect(endpointOf(await c.inspect(), net)).toEqual({ ipv4: "10.213.7.20", aliases: ["clickhouse"] });
    // what the fix is for: docker network connect with no address and no alias
    await t.docker.getNetwork(net).disconnect({ Container: name });
    await t.docker.getNetwork(net).connect({ Container: name });
    const plain = endpointOf(await c.inspect(), net);
    expect(endpointMissing({ ipv4: "10.213.7.20", aliases: ["clickhouse"] }, plain)).toEqual([
      "address 10.213.7.20",
      "alias clickhouse",
    ]);
    // and clearing from such a state says so rather than "restored"
    await expect(
      clearFault(t, { ...entry, endpoint: { ipv4: "10.213.7.20", aliases: ["clickhouse"] } }),
    ).rejects.toThrow(`${name} is back on ${net} without its address 10.213.7.20, alias clickhouse`);
  } finally {
    await c.remove({ force: true });
    await t.docker.getNetwork(net).remove();
    if (saved === undefined) delete process.env.K2_DATA_DIR;
    else process.env.K2_DATA_DIR = saved;
    rmSync(data, { recursive: true, force: true });
  }
}, 60_000);

test("the lab's network as compose makes K2's: <project>_k2-net, K2's addresses and aliases; discovery", async () => {
  (await ensureLabStack(t)).close();
  expect(LAB_NET).toBe("k2-lab_k2-net");
  const ch = await t.docker.getContainer("k2-clickhouse").inspect();
  expect(endpointOf(ch, LAB_NET)).toEqual({ ipv4: "172.28.0.20", aliases: ["clickhouse"] });
  expect([ch.Config.Labels["com.docker.compose.project"], ch.Config.Labels["com.docker.compose.service"]]).toEqual([
    "k2-lab",
    "clickhouse",
  ]);
  const labNet = await t.docker.getNetwork(LAB_NET).inspect();
  expect([labNet.Internal, labNet.IPAM?.Config?.[0]?.Subnet, labNet.Labels?.["com.docker.compose.network"]]).toEqual([
    true,
    "172.28.0.0/16",
    "k2-net",
  ]);
  expect(await clickhouseNetwork(t)).toBe(LAB_NET);
  expect(await clickhouseNetwork(t, "given-net")).toBe("given-net");
  // a compose project's network beside it, labelled as compose labels k2-net (nothing is sent over either)
  const name = "k2t-project_k2-net";
  for (const n of await t.docker.listNetworks({ filters: { name: [name] } })) await t.docker.getNetwork(n.Id).remove();
  const net = await t.docker.createNetwork({
    Name: name,
    Internal: true,
    Labels: {
      "com.k2.lab": "true",
      "com.docker.compose.network": "k2-net",
      "com.docker.compose.project": "k2t-project",
    },
  });
  await net.connect({ Container: "k2-clickhouse" });
  try {
    // two of compose's k2-net: which one is the user's to say
    await expect(clickhouseNetwork(t)).rejects.toThrow(
      `k2-clickhouse is on ${[LAB_NET, name].sort().join(", ")} (2 of them compose's k2-net): name the one to ` +
        "partition with --network",
    );
  } finally {
    await net.disconnect({ Container: "k2-clickhouse" });
    await net.remove();
  }
}, 120_000);

test("healthchecks as compose has them: the same services, compose's timing; the handlers', Redpanda's and the web " +
  "ones run as compose writes them, and each lab container reports healthy", async () => {
  (await ensureLabStack(t)).close();
  const withCheck = SERVICES.filter((s) => s.healthcheck);
  expect(withCheck.map((s) => s.service).sort()).toEqual(
    SERVICES.filter((s) => !["spark-iceberg", "prefect-worker", "redpanda-init"].includes(s.service))
      .map((s) => s.service)
      .sort(),
  );
  const asWritten: string[] = [];
  for (const s of SERVICES) {
    const i = await t.docker.getContainer(s.container).inspect();
    const hc = i.Config.Healthcheck as { Test: string[]; Interval: number; Retries: number; StartPeriod: number };
    if (!s.healthcheck) {
      expect(`${s.container}: ${JSON.stringify(hc ?? null)}`).toBe(`${s.container}: null`);
      continue;
    }
    const { intervalS, retries, startPeriodS, test } = s.healthcheck;
    expect([s.container, hc.Interval, hc.Retries, hc.StartPeriod]).toEqual([
      s.container,
      intervalS * 1e9,
      retries,
      startPeriodS * 1e9,
    ]);
    if (JSON.stringify(hc.Test) === JSON.stringify(test)) asWritten.push(s.service);
    else expect(hc.Test).toEqual(["CMD", "kill", "-0", "1"]);
  }
  expect(asWritten.sort()).toEqual(
    [
      "feed-handler-binance",
      "feed-handler-coinbase",
      "feed-handler-kraken",
      "grafana",
      "prometheus",
      "redpanda",
      "redpanda-console",
    ].sort(),
  );
  // each check has run once (an interval after start at the latest) and passed
  const until = Date.now() + 30_000;
  const status = async (c: string) => (await t.docker.getContainer(c).inspect()).State.Health?.Status;
  for (const s of withCheck)
    while ((await status(s.container)) === "starting" && Date.now() < until) await Bun.sleep(500);
  const states = await Promise.all(withCheck.map(async (s) => `${s.container}: ${await status(s.container)}`));
  expect(states).toEqual(withCheck.map((s) => `${s.container}: healthy`));
  // the pgrep stand-in finds what runs and nothing else
  const handler = t.docker.getContainer("k2-feed-handler-binance");
  expect((await execIn(handler, ["pgrep", "-f", "java"])).exitCode).toBe(0);
  expect((await execIn(handler, ["pgrep", "-f", "no-such-process"])).exitCode).toBe(1);
}, 120_000);
