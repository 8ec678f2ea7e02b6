// Debian's prometheus-alertmanager on loopback, in a temporary folder removed at stop, routing every alert to one
// webhook (the live-fire notebook listens there). No cluster, no network beyond 127.0.0.1.
import { join } from "node:path";
import { stringify } from "yaml";
import { type RunningDaemon, startDaemon } from "./daemon.ts";

export type RunningAlertmanager = RunningDaemon;

/** Group per alert name, sent at once (group_wait 0s), resolved alerts too. */
function alertmanagerConfig(webhookUrl: string): string {
  return stringify({
    route: { receiver: "hook", group_by: ["alertname"], group_wait: "0s", group_interval: "1s", repeat_interval: "1h" },
    receivers: [{ name: "hook", webhook_configs: [{ url: webhookUrl, send_resolved: true }] }],
  });
}

export function startAlertmanager(webhookUrl: string): Promise<RunningAlertmanager> {
  return startDaemon({
    name: "alertmanager",
    need: "alertmanager",
    files: { "alertmanager.yml": alertmanagerConfig(webhookUrl) },
    args: (dir, port) => [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
  });
}
