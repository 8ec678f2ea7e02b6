// The lab's containers on a real Docker engine: what ensureLabStack leaves behind for the
// notebooks, whatever state an earlier session or a daemon restart left.
import { beforeAll, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDockerEngine, tempDir } from "./helpers.ts";
import { connectDocker, execIn, type DockerTarget } from "../lib/io/docker.ts";
import { ensureLabStack, runLabContainer, labLabels, IDLE } from "../lib/lab/stack.ts";
import { SERVICES } from "../lib/k2/stack.ts";

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
  const before = process.env.K2_DATA_DIR;
  process.env.K2_DATA_DIR = join(tempDir(), "data");
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
  }
}, 120_000);
