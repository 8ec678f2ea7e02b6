// The Prefect REST API (server 2.x/3.x): recent runs of one deployment, newest first.
// PREFECT_API_URL is the API root, e.g. http://localhost:4200/api (the K2 default).
import { K2Error, EXIT, firstLine } from "../runtime/errors.ts";
import { withTimeout } from "./docker.ts";

/** One Prefect flow run as the API returns it (the fields the health check reads). */
export type FlowRun = {
  name: string;
  state_type: string;
  state_name?: string;
  expected_start_time?: string | null;
  start_time?: string | null;
  end_time?: string | null;
};

export const prefectUrl = (env = process.env) =>
  (env.PREFECT_API_URL?.trim() || "http://localhost:4200/api").replace(/\/$/, "");

export async function recentRuns(apiUrl: string, deployment: string, limit = 10): Promise<FlowRun[]> {
  const body = { deployments: { name: { any_: [deployment] } }, sort: "EXPECTED_START_TIME_DESC", limit };
  let res: Response;
  try {
    res = await withTimeout(
      fetch(`${apiUrl}/flow_runs/filter`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      5000,
    );
  } catch (e) {
    throw new K2Error(
      `Prefect API not reachable at ${apiUrl} (${firstLine(e)}): start Prefect or set PREFECT_API_URL`,
      EXIT.unreachable,
    );
  }
  if (!res.ok)
    throw new K2Error(
      `Prefect API at ${apiUrl} answered ${res.status} to flow_runs/filter: check PREFECT_API_URL (it ends in /api)`,
      EXIT.unreachable,
    );
  const runs = (await res.json()) as FlowRun[];
  // Only runs that have started or were due count; SCHEDULED ones in the future say nothing yet.
  return runs.filter((r) => r.state_type !== "SCHEDULED" || Date.parse(r.expected_start_time ?? "") <= Date.now());
}
