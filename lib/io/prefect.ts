// The Prefect REST API (server 2.x/3.x): recent runs of one deployment, newest first.
// PREFECT_API_URL is the API root, e.g. http://localhost:4200/api (the K2 default).
import { EXIT, firstLine, K2Error } from "../runtime/errors.ts";
import { withTimeout } from "./docker.ts";

/** One Prefect flow run as the API returns it (the fields the health check and step 3 read). */
export type FlowRun = {
  id?: string;
  name: string;
  state_type: string;
  state_name?: string;
  expected_start_time?: string | null;
  start_time?: string | null;
  end_time?: string | null;
};

export const prefectUrl = (env = process.env) =>
  (env.PREFECT_API_URL?.trim() || "http://localhost:4200/api").replace(/\/$/, "");

/** One call to the API: a one-line error naming the URL and what to set when it does not answer or refuses. */
async function call<T>(apiUrl: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await withTimeout(
      fetch(`${apiUrl}/${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
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
      `Prefect API at ${apiUrl} answered ${res.status} to ${path}: check PREFECT_API_URL (it ends in /api)` +
        (res.status === 404 && path.startsWith("deployments/name/") ? " and the deployment's flow/name" : ""),
      EXIT.unreachable,
    );
  return (await res.json()) as T;
}

/**
 * A run of a deployment started now, as the UI's "Quick run" does: the deployment found by "<flow>/<deployment>"
 * (K2: iceberg-offload-main/iceberg-offload-15min), then a flow run created for it.
 */
export async function startFlowRun(apiUrl: string, flowAndDeployment: string): Promise<FlowRun> {
  const [flow, name] = flowAndDeployment.split("/");
  const path = `deployments/name/${encodeURIComponent(flow ?? "")}/${encodeURIComponent(name ?? "")}`;
  const { id } = await call<{ id: string }>(apiUrl, path);
  return call<FlowRun>(apiUrl, `deployments/${id}/create_flow_run`, {});
}

export async function recentRuns(apiUrl: string, deployment: string, limit = 10): Promise<FlowRun[]> {
  const body = { deployments: { name: { any_: [deployment] } }, sort: "EXPECTED_START_TIME_DESC", limit };
  const runs = await call<FlowRun[]>(apiUrl, "flow_runs/filter", body);
  // Only runs that have started or were due count; SCHEDULED ones in the future say nothing yet.
  return runs.filter((r) => r.state_type !== "SCHEDULED" || Date.parse(r.expected_start_time ?? "") <= Date.now());
}
