// Debian's prometheus-alertmanager on loopback, in a temporary folder removed at stop, routing every alert to one
// webhook (the live-fire notebook listens there). No cluster, no network beyond 127.0.0.1.
import { mkdtemp, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { K2Error, EXIT } from "../runtime/errors.ts";

const ALERTMANAGER_BIN = "/usr/bin/prometheus-alertmanager";
export type RunningAlertmanager = { url: string; stop(): Promise<void> };

/** Group per alert name, sent at once (group_wait 0s), resolved alerts too. */
export function alertmanagerConfig(webhookUrl: string): string {
  return stringify({
    route: { receiver: "hook", group_by: ["alertname"], group_wait: "0s", group_interval: "1s", repeat_interval: "1h" },
    receivers: [{ name: "hook", webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
  });
}

export async function startAlertmanager(webhookUrl: string): Promise<RunningAlertmanager> {
  if (!existsSync(ALERTMANAGER_BIN))
    throw new K2Error(`${ALERTMANAGER_BIN} missing: apt-get install -y prometheus-alertmanager`, EXIT.notFound);
  const dir = await mkdtemp(join(tmpdir(), "k2-alertmanager-"));
  await Bun.write(join(dir, "alertmanager.yml"), alertmanagerConfig(webhookUrl));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const proc = Bun.spawn(
    [
      ALERTMANAGER_BIN,
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    { cwd: dir, stdout: "ignore", stderr: "pipe" },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    proc.kill();
    await proc.exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) break;
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, stop };
    await Bun.sleep(100);
  }
  const err = proc.exitCode !== null ? (await new Response(proc.stderr).text()).trim().split("\n").at(-1) : "";
  await stop();
  throw new K2Error(`Debian's alertmanager did not start on ${url}${err ? `: ${err}` : ""}`, EXIT.unreachable);
}
