// The notebook runtime. A notebook declares its options, a `fetch` that measures and stores
// datasets under data/<name>/<run-id>/, and a `render` that reads them back and writes the
// document. A live run is fetch then render from what was stored, so `--from <run-id>`
// renders exactly what a live run rendered, with no ClickHouse or Docker reachable.

import { watch } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../../package.json" with { type: "json" };
import { Report } from "../report/document.ts";
import { EXIT, K2Error, redact } from "./errors.ts";
import { writeAtomic } from "./fsx.ts";
import {
  flag,
  type OptionSpec,
  type OptionSpecs,
  optionalText,
  type Parsed,
  parseOptions,
  type Values,
} from "./options.ts";
import { outDir, ROOT } from "./paths.ts";
import { progress } from "./progress.ts";
import { type Fetched, newRunId, openRun, type RunData, RunWriter } from "./store.ts";

/** `--compare <runA> <runB>`: a notebook that offers it renders the two stored runs side by side. */
type Compare<O, F extends Fetched> = (
  report: Report,
  before: RunData<F>,
  after: RunData<F>,
  options: O,
) => Promise<Rendered>;

type FetchContext<O> = {
  options: O;
  run: RunWriter;
  progress: typeof progress;
  log(message: string): void;
  /** work to do before exiting on Ctrl-C or SIGTERM (e.g. clear an injected fault) */
  onAbort(cleanup: () => Promise<void>): void;
};
/**
 * What a render returns: its summary lines, whether a check failed, `error`: something left broken that the user
 * must hear about whatever --gate says (one line, with its exit code), and `files`: artefacts beside the report
 * (out/<notebook>/<name>), written by the runtime like the report itself.
 */
export type Rendered = { summary: string[]; failed?: boolean; error?: K2Error; files?: Record<string, string> };

/**
 * A notebook: declared options S (each with its normaliser, lib/runtime/options.ts), assembled into O by parse;
 * a fetch that stores a typed record F; a render that reads it back.
 */
export type Notebook<O, F extends Fetched = Fetched, S extends OptionSpecs = OptionSpecs> = {
  name: string;
  title: string;
  about: string;
  options: S;
  /** Exit non-zero on a failed check even without --gate (the health notebook gates CI). */
  alwaysGate?: boolean;
  /** Assemble the parsed option values (and the environment) into the notebook's options. */
  parse(values: Parsed<S>): O;
  fetch(ctx: FetchContext<O>): Promise<F>;
  render(report: Report, run: RunData<F>, options: O): Promise<Rendered>;
  compare?: Compare<O, F>;
};

const COMMON = {
  from: optionalText("re-render from stored data (no ClickHouse or Docker needed)", "run-id|latest"),
  gate: flag("exit non-zero when a check or target fails (for CI)"),
  watch: flag("after the run, re-render on every change under lib/ and notebooks/"),
  help: flag("show this help"),
};
const COMPARE_HELP =
  "  --compare <runA> <runB>            render the deltas between two stored runs (out/<name>-compare.html)";

function helpText<O, F extends Fetched>(nb: Notebook<O, F>): string {
  const row = (name: string, spec: OptionSpec) => {
    const flag = `  --${name}${spec.type === "string" ? ` <${spec.arg ?? "value"}>` : ""}`;
    const dflt = spec.default !== undefined && spec.default !== false ? ` (default ${spec.default})` : "";
    return `${flag.padEnd(34)} ${spec.help}${dflt}`;
  };
  return [
    `${nb.title}\n\nusage: bun notebooks/${nb.name}.ts [options]\n`,
    nb.about.trim(),
    "\nOptions:",
    ...Object.entries(nb.options).map(([n, o]) => row(n, o)),
    ...Object.entries(COMMON).map(([n, o]) => row(n, o)),
    ...(nb.compare ? [COMPARE_HELP] : []),
    `\nWrites data/${nb.name}/<run-id>/ (datasets, manifest.json), out/${nb.name}.html and out/${nb.name}.md.`,
  ].join("\n");
}

export async function runNotebook<O, F extends Fetched>(
  nb: Notebook<O, F>,
  argv: string[] = Bun.argv.slice(2),
): Promise<number> {
  const { compareIds, rest } = takeCompare(nb, argv);
  const raw = parseFlags(nb, rest);
  const values = parseOptions(COMMON, raw);
  if (values.help) {
    console.log(helpText(nb));
    return 0;
  }
  const options = nb.parse(parseOptions(nb.options, raw));
  const t0 = performance.now();
  if (compareIds) {
    const rendered = await renderCompare(nb, compareIds, options);
    return values.gate && rendered.failed ? EXIT.gate : 0;
  }
  let run: RunData<F>;
  if (values.from !== undefined) {
    run = await openRun<F>(nb.name, values.from);
    console.error(`${nb.name}: re-rendering stored run ${run.manifest.runId}`);
  } else run = await openRun<F>(nb.name, await fetchRun(nb, options));
  const rendered = await renderRun(nb, run, options);
  const took = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    [
      ...rendered.summary,
      `report: ${rel(join(outDir(), `${nb.name}.html`))}, ${rel(join(outDir(), `${nb.name}.md`))}; data: ` +
        `${rel(run.dir)} (${took} s)`,
    ].join("\n"),
  );
  if (rendered.error) throw rendered.error; // after the report is written: it holds the evidence
  if (values.watch) await watchAndRender(nb, run.manifest.runId);
  return (values.gate || nb.alwaysGate) && rendered.failed ? EXIT.gate : 0;
}

/** `--compare <runA> <runB>` takes two values, which parseArgs cannot express: taken out before it runs. */
function takeCompare<O, F extends Fetched>(nb: Notebook<O, F>, argv: string[]) {
  const ci = argv.indexOf("--compare");
  if (!nb.compare || ci < 0) return { compareIds: undefined, rest: argv };
  const [a, b] = argv.slice(ci + 1, ci + 3);
  if (!a || !b || a.startsWith("--") || b.startsWith("--"))
    throw new K2Error(`--compare takes two run ids (e.g. --compare latest~1 latest; see data/${nb.name}/)`, EXIT.usage);
  return { compareIds: [a, b] as [string, string], rest: [...argv.slice(0, ci), ...argv.slice(ci + 3)] };
}

/** The notebook's own options and the common ones; a bad flag is one line naming it. */
function parseFlags<O, F extends Fetched>(nb: Notebook<O, F>, argv: string[]): Values {
  const all = { ...nb.options, ...COMMON };
  try {
    return parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(all).map(([n, o]) => [n, { type: o.type, default: o.default }] as const),
      ),
      allowPositionals: false,
      // --no-lab-stack turns off a flag that defaults to on
      allowNegative: true,
      strict: true,
    }).values as Values;
  } catch (e) {
    throw flagError(e, nb.name);
  }
}

/** Two stored runs side by side: out/<name>-compare.html and .md. */
async function renderCompare<O, F extends Fetched>(nb: Notebook<O, F>, ids: [string, string], options: O) {
  const [a, b] = await Promise.all(ids.map((id) => openRun<F>(nb.name, id)));
  const [ra, rb] = [a!.manifest.runId, b!.manifest.runId];
  const report = new Report(`${nb.title}: ${ra} → ${rb}`);
  const rendered = await nb.compare!(report, a!, b!, options);
  const subtitle = `comparing run ${ra} (before) with ${rb} (after)`;
  const footer = `k2-hardening ${pkg.version} · bun notebooks/${nb.name}.ts --compare ${ra} ${rb}`;
  const [html, md] = [join(outDir(), `${nb.name}-compare.html`), join(outDir(), `${nb.name}-compare.md`)];
  await writeAtomic(html, report.renderHtml({ subtitle, footer }));
  await writeAtomic(md, report.renderMarkdown({ subtitle }));
  console.log([...rendered.summary, `report: ${rel(html)}, ${rel(md)}`].join("\n"));
  return rendered;
}

/**
 * Fetch into a new run, committed only when complete. Ctrl-C or SIGTERM runs the notebook's cleanups (an injected
 * fault is cleared), removes the partial run and exits 130 or 143.
 */
async function fetchRun<O, F extends Fetched>(nb: Notebook<O, F>, options: O): Promise<string> {
  const writer = await new RunWriter(nb.name, newRunId()).open();
  const cleanups: (() => Promise<void>)[] = [];
  const abort = async (signal: string, code: number) => {
    console.error(`\n${nb.name}: ${signal}: cleaning up`);
    for (const c of cleanups)
      await c().catch((e) => console.error(`${nb.name}: cleanup failed: ${redact(String(e?.message ?? e))}`));
    await writer.discard();
    console.error(`\n${nb.name}: interrupted (${signal}); the partial run was removed`);
    process.exit(code);
  };
  const onInt = () => abort("SIGINT", 130),
    onTerm = () => abort("SIGTERM", 143);
  process.once("SIGINT", onInt).once("SIGTERM", onTerm);
  try {
    const fetched = await nb.fetch({
      options,
      run: writer,
      progress,
      log: (m) => console.error(`${nb.name}: ${redact(m)}`),
      onAbort: (c) => void cleanups.push(c),
    });
    const clickhouse: Record<string, string> = fetched.target?.version ? { clickhouse: fetched.target.version } : {};
    await writer.commit({
      title: nb.title,
      createdAt: new Date().toISOString(),
      versions: { "k2-hardening": pkg.version, bun: Bun.version, ...clickhouse },
      ...fetched,
    });
    return writer.runId;
  } catch (e) {
    await writer.discard();
    throw e;
  } finally {
    process.off("SIGINT", onInt).off("SIGTERM", onTerm);
  }
}

export async function renderRun<O, F extends Fetched>(
  nb: Notebook<O, F>,
  run: RunData<F>,
  options: O,
): Promise<Rendered> {
  const report = new Report(nb.title);
  const rendered = await nb.render(report, run, options);
  const m = run.manifest;
  const when = m.createdAt.replace("T", " ").slice(0, 19);
  const subtitle = `run ${m.runId} · ${m.target ? m.target.label : "no target"} · ${when} UTC`;
  const footer =
    `k2-hardening ${m.versions["k2-hardening"] ?? ""} · data/${nb.name}/${m.runId}/ · rendered ` +
    `${new Date().toISOString().slice(0, 19)}Z · re-render: bun notebooks/${nb.name}.ts --from ${m.runId}`;
  await writeAtomic(join(outDir(), `${nb.name}.html`), report.renderHtml({ subtitle, footer }));
  await writeAtomic(join(outDir(), `${nb.name}.md`), report.renderMarkdown({ subtitle }));
  for (const [name, text] of Object.entries(rendered.files ?? {}))
    await writeAtomic(join(outDir(), nb.name, name), text);
  return rendered;
}

/**
 * A bad flag as one line. parseArgs says e.g. "Unknown option '--wach'. To specify a positional
 * argument starting with a '-', place it at the end ..."; the first sentence is the news.
 */
export function flagError(e: unknown, name: string): K2Error {
  const first = (e as Error).message.split("\n")[0]!.replace(/^(Unknown option '[^']*')\..*$/, "$1");
  return new K2Error(`${first} (see bun notebooks/${name}.ts --help)`, EXIT.usage);
}

/** Re-render the stored run in a fresh process on each change, so edited modules are reloaded. */
export async function watchAndRender(nb: { name: string }, runId: string): Promise<never> {
  console.error(`${nb.name}: watching lib/ and notebooks/; Ctrl-C to stop`);
  let timer: Timer | undefined;
  const rerender = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      Bun.spawnSync([process.execPath, Bun.main, "--from", runId], { stdout: "inherit", stderr: "inherit", cwd: ROOT });
    }, 300);
  };
  for (const dir of ["lib", "notebooks"]) watch(join(ROOT, dir), { recursive: true }, rerender);
  return new Promise<never>(() => {});
}

/** The top of every notebook: run it, print a K2Error as one line, exit with its code. */
export async function main<O, F extends Fetched>(nb: Notebook<O, F>): Promise<void> {
  await top(nb.name, () => runNotebook(nb));
}

/** The one place errors are caught: a K2Error is one line and its exit code; anything else is a bug with a stack. */
export async function top(name: string, body: () => Promise<number>): Promise<never> {
  try {
    process.exitCode = await body();
  } catch (e) {
    if (e instanceof K2Error) {
      console.error(`${name}: ${e.exitCode === 0 ? "" : "error: "}${redact(e.message)}`);
      process.exitCode = e.exitCode;
    } else {
      console.error(redact((e as Error)?.stack ?? String(e)));
      process.exitCode = 1;
    }
  }
  process.exit(process.exitCode);
}

const rel = (p: string) => relative(process.cwd(), p) || ".";
