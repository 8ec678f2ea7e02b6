// The audit against a platform checkout (--stack-config <dir>), no stack needed: what the files say Prometheus will
// load and scrape. The compose file's mounts against rule_files globs, scrape targets against services, ports and
// paths, the ClickHouse config's <prometheus> section, the dashboards' metrics against what the components expose,
// and their datasource uids against provisioning. The same chains as the live audit, where a file can tell. Pure:
// files come in through `Files`.
import { parse } from "yaml";
import type { Status } from "../verdict/status.ts";
import { type AuditFinding, alertMetrics, type Broken, type ChainRow, LOAD_FIX } from "./audit.ts";
import { COMPONENTS, type Component, type ComponentId, metricByName } from "./catalog.ts";
import { metricsOf } from "./dashboard.ts";
import { ALERTS, type Alert } from "./rules.ts";

/** Read access to a checkout, by paths relative to its root; null when a file is missing. */
export type Files = { read(path: string): string | null; list(dir: string): string[] };

type Mount = { src: string; dst: string };
type Service = {
  image?: string;
  container_name?: string;
  volumes?: string[];
  extra_hosts?: string[];
  command?: unknown;
};
type ScrapeJob = { job_name: string; metrics_path?: string; static_configs?: { targets?: string[] }[] };
type PromConfig = {
  rule_files?: string[];
  scrape_configs?: ScrapeJob[];
  alerting?: { alertmanagers?: { static_configs?: { targets?: string[] }[] }[] };
};

export type CheckoutAudit = { compose: string; findings: AuditFinding[]; chains: ChainRow[]; loadedRules: string[] };

export const COMPOSE_FILES = ["docker-compose.v2.yml", "docker-compose.yml", "compose.yml"];
const yamlOf = <T>(text: string | null): T | null => (text === null ? null : (parse(text) as T));
const norm = (p: string) => p.replace(/^\.\//, "").replace(/\/$/, "");

/** Bind mounts of a service, "./docker/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" -> src, dst. */
function mountsOf(s: Service | undefined): Mount[] {
  return (s?.volumes ?? [])
    .map((v) => v.split(":"))
    .filter(([src]) => src!.startsWith(".") || src!.startsWith("/"))
    .map(([src, dst]) => ({ src: norm(src!), dst: dst!.replace(/\/$/, "") }));
}
/** The host path of a container path through the mounts, or null when nothing is mounted there. */
function hostPath(mounts: Mount[], path: string): string | null {
  const m = mounts.find((x) => path === x.dst || path.startsWith(`${x.dst}/`));
  return m ? m.src + path.slice(m.dst.length) : null;
}

export function auditCheckout(files: Files, alerts: Alert[] = ALERTS): CheckoutAudit {
  const compose = COMPOSE_FILES.find((f) => files.read(f) !== null);
  if (!compose)
    return {
      compose: "none",
      findings: [
        {
          where: "checkout",
          problem: `no ${COMPOSE_FILES.join(" or ")}`,
          fix: "point --stack-config at the platform's root",
        },
      ],
      chains: [],
      loadedRules: [],
    };
  const services = yamlOf<{ services?: Record<string, Service> }>(files.read(compose))?.services ?? {};
  const promKey = Object.keys(services).find(
    (k) => k === "prometheus" || /prom\/prometheus/.test(services[k]!.image ?? ""),
  );
  const findings: AuditFinding[] = [];
  const add = (where: string, problem: string, fix: string) => findings.push({ where, problem, fix });
  const prom = promKey ? services[promKey] : undefined;
  const mounts = mountsOf(prom);
  const configPath = hostPath(mounts, "/etc/prometheus/prometheus.yml");
  const config = configPath ? yamlOf<PromConfig>(files.read(configPath)) : null;
  if (!config) {
    add(compose, `no prometheus.yml mounted at /etc/prometheus in the ${promKey ?? "prometheus"} service`, "mount it");
    return { compose, findings, chains: [], loadedRules: [] };
  }
  const rules = ruleFindings(files, config, mounts, configPath!, add);
  const loadedRules = rules.filter((r) => r.loaded).map((r) => r.alert);
  const components = scrapeFindings(files, config, services, prom!, configPath!, add);
  foreverFindings(rules, config, services, prom!, components, add);
  dashboardFindings(files, services, add);
  const chains = alerts.map((a) => chainOf(a, loadedRules, components));
  return { compose, findings, chains, loadedRules };
}

type RuleSeen = { alert: string; expr: string; file: string; loaded: boolean };
const rulesIn = (files: Files, path: string, loaded: boolean): RuleSeen[] =>
  (yamlOf<{ groups?: { rules?: { alert?: string; expr?: string }[] }[] }>(files.read(path))?.groups ?? [])
    .flatMap((g) => g.rules ?? [])
    .filter((r) => r.alert)
    .map((r) => ({ alert: r.alert!, expr: String(r.expr ?? ""), file: path, loaded }));

/**
 * rule_files globs as the container sees them: a glob under a folder nothing mounts matches nothing. The alerting
 * rules of the files matched, and of those a mount of the folder would load (not loaded yet).
 */
function ruleFindings(
  files: Files,
  config: PromConfig,
  mounts: Mount[],
  configPath: string,
  add: (where: string, problem: string, fix: string) => void,
): RuleSeen[] {
  const names: RuleSeen[] = [];
  for (const glob of config.rule_files ?? []) {
    const inContainer = glob.startsWith("/") ? glob : `/etc/prometheus/${glob}`;
    const dir = inContainer.slice(0, inContainer.lastIndexOf("/"));
    const host = hostPath(mounts, dir);
    const pattern = new Bun.Glob(inContainer.slice(dir.length + 1));
    if (!host || !files.list(host).length) {
      const beside = configPath.slice(0, configPath.lastIndexOf("/") + 1) + glob.slice(0, glob.lastIndexOf("/"));
      const unmounted = files.list(beside).filter((f) => pattern.match(f));
      for (const f of unmounted) names.push(...rulesIn(files, `${beside}/${f}`, false));
      add(
        configPath,
        `rule_files "${glob}" matches nothing inside the container: ${dir} is not mounted` +
          (unmounted.length ? `, so ${beside}/ (${unmounted.join(", ")}) is never loaded` : ""),
        LOAD_FIX,
      );
      continue;
    }
    for (const f of files.list(host).filter((x) => pattern.match(x)))
      names.push(...rulesIn(files, `${host}/${f}`, true));
  }
  return names;
}

/**
 * Rules that fire for good once loaded: `up{job="J"} == 0` where J scrapes a host nothing answers on (a name no compose
 * service has, host.docker.internal without extra_hosts, which does not resolve on Linux, or a component's endpoint
 * the audit found unserved). The platform's
 * IcebergOffloadSchedulerDown is one: its job scrapes the offload metrics no process serves.
 */
function foreverFindings(
  rules: RuleSeen[],
  config: PromConfig,
  services: Record<string, Service>,
  prom: Service,
  components: Partial<Record<ComponentId, JobState>>,
  add: (where: string, problem: string, fix: string) => void,
) {
  // a component's endpoint the audit found unserved (the offload's metrics: no process serves them)
  const unserved = new Set(
    Object.values(COMPONENTS)
      .filter((c) => components[c.id]?.ok === false)
      .map((c) => c.job),
  );
  const hosts = new Set([...Object.keys(services), ...Object.values(services).map((s) => s.container_name ?? "")]);
  const resolves = (prom.extra_hosts ?? []).some((h) => h.startsWith("host.docker.internal"));
  for (const r of rules) {
    const job = /\bup\{job="([^"]+)"\}\s*==\s*0/.exec(r.expr)?.[1];
    const j = job ? (config.scrape_configs ?? []).find((x) => x.job_name === job) : undefined;
    const dead = j
      ? targetsOf(j).find((t) => {
          const h = t.split(":")[0]!;
          if (unserved.has(j.job_name)) return true;
          return h === "host.docker.internal" ? !resolves : h !== "localhost" && !hosts.has(h);
        })
      : undefined;
    if (dead)
      add(
        r.file,
        `${r.alert} (${r.expr}) fires for good${r.loaded ? "" : " once the rules folder is mounted"}: job ${job} ` +
          `scrapes ${dead}, which nothing answers on`,
        `serve that target (the offload's metrics as a compose service) or drop the job and ${r.alert}`,
      );
  }
}

type JobState = { ok: true; text: string } | { ok: false; broken: Broken };

/** Each component's scrape job as the files define it: present, on the right host, port and path. */
function scrapeFindings(
  files: Files,
  config: PromConfig,
  services: Record<string, Service>,
  prom: Service,
  configPath: string,
  add: (where: string, problem: string, fix: string) => void,
): Partial<Record<ComponentId, JobState>> {
  const jobs = config.scrape_configs ?? [];
  const hosts = new Set([...Object.keys(services), ...Object.values(services).map((s) => s.container_name ?? "")]);
  const out: Partial<Record<ComponentId, JobState>> = {};
  for (const c of Object.values(COMPONENTS).filter((x) => x.id !== "prometheus")) {
    const [host, port] = c.target.split(":");
    // by job name, else by a compose service's host (host.docker.internal names no particular component)
    const job =
      jobs.find((j) => j.job_name === c.job) ??
      (hosts.has(host!) ? jobs.find((j) => targetsOf(j).some((t) => t.split(":")[0] === host)) : undefined);
    const state = jobState(c, job, port!, host!, files, services, prom);
    out[c.id] = state;
    if (!state.ok) add(configPath, state.broken.what, state.broken.fix);
  }
  for (const j of jobs)
    for (const t of targetsOf(j)) {
      const h = t.split(":")[0]!;
      if (!hosts.has(h) && h !== "localhost" && h !== "host.docker.internal")
        add(configPath, `job ${j.job_name} scrapes ${t}, and no compose service is called ${h}`, "fix the target");
    }
  if (!(config.alerting?.alertmanagers ?? []).some((a) => (a.static_configs ?? []).some((s) => s.targets?.length)))
    add(
      configPath,
      "no Alertmanager target (alertmanagers.targets is empty): alerts fire in Prometheus and notify nobody",
      "add an alertmanager service and list it under alerting.alertmanagers",
    );
  return out;
}

const targetsOf = (scrapeJob: ScrapeJob) => (scrapeJob.static_configs ?? []).flatMap((s) => s.targets ?? []);

function jobState(
  component: Component,
  job: ScrapeJob | undefined,
  port: string,
  host: string,
  files: Files,
  services: Record<string, Service>,
  prom: Service,
): JobState {
  const broken = (what: string): JobState => ({ ok: false, broken: { link: "job", what, fix: component.fix } });
  if (!job)
    return broken(
      `no scrape job for ${component.id} (${component.job} at ${component.target}${component.path}): ` +
        component.today,
    );
  const path = job.metrics_path ?? "/metrics";
  const t = targetsOf(job).find((x) => x.startsWith(`${host}:`)) ?? targetsOf(job)[0] ?? "";
  const where = `job ${job.job_name} scrapes ${t}${path}`;
  if (component.id === "offload") return broken(`${where}: ${component.today}`);
  if (t.split(":")[1] !== port || path !== component.path)
    return {
      ok: false,
      broken: {
        link: "target",
        what: `${where}, not ${component.target}${component.path}: ${component.today}`,
        fix: component.fix,
      },
    };
  if (host === "host.docker.internal" && !(prom.extra_hosts ?? []).some((h) => h.startsWith("host.docker.internal")))
    return broken(`${where}, but host.docker.internal does not resolve on Linux without extra_hosts on prometheus`);
  if (component.id === "clickhouse" && !clickhouseServesMetrics(files, services))
    return broken(`${where}, but no ClickHouse config mounted in the compose file has a <prometheus> section`);
  return { ok: true, text: where };
}

/** Any ClickHouse config file the compose file mounts declares the <prometheus> endpoint. */
function clickhouseServesMetrics(files: Files, services: Record<string, Service>): boolean {
  const ch = Object.entries(services).find(([k, s]) => k === "clickhouse" || /clickhouse-server/.test(s.image ?? ""));
  return mountsOf(ch?.[1]).some((m) => /<prometheus>/.test(files.read(m.src) ?? ""));
}

/** Dashboards Grafana provisions: metrics no component exposes, and datasource uids provisioning does not set. */
function dashboardFindings(
  files: Files,
  services: Record<string, Service>,
  add: (where: string, problem: string, fix: string) => void,
) {
  const g = Object.entries(services).find(([k, s]) => k === "grafana" || /grafana\/grafana/.test(s.image ?? ""));
  const mounts = mountsOf(g?.[1]);
  const prov = hostPath(mounts, "/etc/grafana/provisioning/datasources");
  const uids = (prov ? files.list(prov) : [])
    .filter((f) => /\.ya?ml$/.test(f))
    .flatMap(
      (f) => yamlOf<{ datasources?: { name?: string; uid?: string }[] }>(files.read(`${prov}/${f}`))?.datasources ?? [],
    );
  const dir = hostPath(mounts, "/var/lib/grafana/dashboards");
  for (const f of (dir ? files.list(dir) : []).filter((x) => x.endsWith(".json"))) {
    const d = JSON.parse(files.read(`${dir}/${f}`) ?? "{}") as { panels?: DashPanel[] };
    const panels = (d.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
    for (const p of panels) {
      const where = `${dir}/${f}: panel ${p.id} "${p.title ?? ""}"`;
      for (const ref of [p.datasource, ...(p.targets ?? []).map((t) => t.datasource)])
        if (ref?.uid && !ref.uid.startsWith("$") && !uids.some((u) => u.uid === ref.uid))
          add(
            where,
            `datasource uid "${ref.uid}" is not set by provisioning (` +
              `${uids.map((u) => `${u.name}: ${u.uid ?? "no uid"}`).join(", ") || "none"})`,
            `set uid: ${ref.uid} on the datasource in ${prov ?? "docker/grafana/provisioning/datasources"}`,
          );
      for (const t of p.targets ?? []) {
        const { metrics, error } = metricsOf(t.expr ?? "");
        if (error) add(where, `${t.expr}: ${error}`, "fix the expression");
        for (const m of metrics.filter((x) => !metricByName.has(x)))
          add(where, `uses ${m}, which no K2 component exposes`, "use a metric of the catalog (k2-pipeline.json does)");
      }
    }
  }
}
type DashPanel = {
  id?: number;
  title?: string;
  panels?: DashPanel[];
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
};

/** An alert's chain from files: its rule in a loaded file, each metric's component scraped as it must be. */
function chainOf(definition: Alert, loaded: string[], components: Partial<Record<ComponentId, JobState>>): ChainRow {
  const chain: string[] = [];
  const broken: Broken[] = [];
  if (loaded.includes(definition.name)) chain.push("rule in a loaded rule file");
  else broken.push({ link: "rule", what: `${definition.name} is in no rule file Prometheus loads`, fix: LOAD_FIX });
  for (const m of alertMetrics(definition)) {
    const id = metricByName.get(m)?.component;
    const state = id ? components[id] : undefined;
    if (state?.ok) chain.push(`${m}: ${state.text}`);
    else if (state && !broken.some((b) => b.what === state.broken.what)) broken.push(state.broken);
  }
  const status: Status = broken.length ? "FAIL" : "PASS";
  return { alert: definition.name, status, chain, broken };
}
