// bun run preview: out/ served on loopback, and an open report reloaded in the browser when a notebook (or --watch)
// re-renders it, as Observable Framework's preview does. The files on disk stay self-contained: the reload script is
// added to HTML only as it is served.
import { existsSync, statSync, watch } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { parseArgs } from "node:util";
import { EXIT, firstLine, K2Error } from "./errors.ts";
import { outDir } from "./paths.ts";
import { parseNumber } from "./units.ts";

/** Reloads the page when the file it shows (or, on the index, any report) is re-rendered. */
export const RELOAD_SCRIPT = `<script>(() => {
  const me = decodeURIComponent(location.pathname.replace(/^\\//, "")) || "index.html";
  new EventSource("/__reload").onmessage = (e) => { if (e.data === me || me === "index.html") location.reload(); };
})();</script>`;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".md": "text/markdown; charset=utf-8",
  ".png": "image/png",
  ".json": "application/json",
  ".yml": "text/yaml; charset=utf-8",
};

export function startPreview(dir: string, port: number) {
  const clients = new Set<ReadableStreamDefaultController<string>>();
  const pending = new Map<string, Timer>();
  // renames (atomic writes) and changes both: one event per file, after it settles
  const watcher = watch(dir, { recursive: true }, (_, file) => {
    if (!file || !String(file).endsWith(".html")) return;
    const name = String(file).replace(/\\/g, "/");
    clearTimeout(pending.get(name));
    pending.set(
      name,
      setTimeout(() => {
        pending.delete(name);
        for (const c of clients) c.enqueue(`data: ${name}\n\n`);
      }, 100),
    );
  });
  const server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    fetch(req) {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path === "/__reload") {
        let self: ReadableStreamDefaultController<string>;
        const stream = new ReadableStream<string>({
          // a first comment line sends the headers: an EventSource counts as open only then
          start: (c) => void (clients.add((self = c)), c.enqueue(": open\n\n")),
          cancel: () => void clients.delete(self),
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
      }
      const file = normalize(join(dir, path === "/" ? "index.html" : path));
      if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile())
        return new Response("not found", { status: 404 });
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      if (extname(file) !== ".html") return new Response(Bun.file(file), { headers: { "content-type": type } });
      return Bun.file(file)
        .text()
        .then(
          (t) => new Response(t.replace(/<\/body>/i, `${RELOAD_SCRIPT}</body>`), { headers: { "content-type": type } }),
        );
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/`,
    stop() {
      watcher.close();
      for (const c of clients) c.close();
      server.stop(true);
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { port: { type: "string", default: "3030" }, help: { type: "boolean" } },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: bun run preview [--port 3030]

Serves out/ on 127.0.0.1 and reloads an open report when a notebook (or --watch) re-renders it. The files in
out/ stay self-contained: the reload script is added only as they are served. --port 0 picks a free port.`);
    process.exit(0);
  }
  try {
    const port = parseNumber(values.port!, "--port", 0, 65535);
    const dir = resolve(outDir());
    if (!existsSync(dir)) throw new K2Error(`no ${dir}: run a notebook first (bun run all)`, EXIT.notFound);
    const p = (() => {
      try {
        return startPreview(dir, port);
      } catch (e) {
        throw new K2Error(`cannot listen on 127.0.0.1:${port} (${firstLine(e)}): pick another --port`, EXIT.usage);
      }
    })();
    console.log(`preview: ${p.url} (out/ at ${dir}); Ctrl-C stops`);
    process.on("SIGINT", () => {
      p.stop();
      process.exit(0);
    });
  } catch (e) {
    console.error(`preview: error: ${firstLine(e)}`);
    process.exit(e instanceof K2Error ? e.exitCode : 1);
  }
}
