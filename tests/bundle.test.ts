// The PR bundle and the reports in a real browser: every step's report re-rendered from its fixture run, then the
// bundle (index.html, pr.md, PNG figures); every page opened in headless Chromium over CDP at 1280 and 390 px (no page
// overflow, no cut table, every figure at the column's width, no console message, and it prints); bun run preview
// serving out/ with the reload script added only as served, and a re-render pushed.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bin } from "../lib/io/packages.ts";
import { RELOAD_SCRIPT, startPreview } from "../lib/runtime/preview.ts";
import { Browser } from "./browser.ts";
import { runCli, tempDir } from "./helpers.ts";

const FIXTURES = join(import.meta.dir, "fixtures", "runs");
/** Where the browser test leaves its screenshots for the reviewer: out/screens/ (K2_SCREENS_DIR overrides). */
const SCREENS = process.env.K2_SCREENS_DIR ?? join(import.meta.dir, "..", "out", "screens");

/** Headless Chromium: the page's console messages (any is a defect: reports carry no script of their own) and a PDF. */
async function openInChromium(url: string, pdf: string) {
  const p = Bun.spawn(
    [
      bin("chromium"),
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--enable-logging=stderr",
      "--v=0",
      `--print-to-pdf=${pdf}`,
      url,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const timer = setTimeout(() => p.kill(), 60_000);
  const [err] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  const console = err.split("\n").filter((l) => /:CONSOLE[:(]/.test(l));
  const head = new Uint8Array(await Bun.file(pdf).arrayBuffer()).slice(0, 5);
  return { console, pdf: new TextDecoder().decode(head), bytes: Bun.file(pdf).size };
}

describe("the bundle and the reports in a browser", () => {
  const dir = tempDir("k2-bundle-");
  const env = { K2_DATA_DIR: join(dir, "data"), K2_OUT_DIR: join(dir, "out"), DOCKER_HOST: "unix:///nonexistent.sock" };
  const notebooks = readdirSync(FIXTURES).filter((n) => n !== "lab");
  const cleanup = [dir];
  afterAll(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  test("every report re-rendered, then index.html, pr.md, PNG figures; each page clean in Chromium", async () => {
    for (const nb of notebooks) {
      cpSync(join(FIXTURES, nb), join(env.K2_DATA_DIR, nb), { recursive: true });
      const r = await runCli(`notebooks/${nb}.ts`, ["--from", "latest"], env);
      expect(r.stdout).toContain("report:");
    }
    const b = await runCli("lib/runbooks/bundle-cli.ts", [], env);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/^bundle: out\/index\.html, out\/pr\.md \(\d+ characters\), \d+ PNGs in out\/png\/$/m);
    const index = readFileSync(join(env.K2_OUT_DIR, "index.html"), "utf8");
    for (const nb of notebooks) expect(index).toContain(`<a href="${nb}.html">`);
    const pr = readFileSync(join(env.K2_OUT_DIR, "pr.md"), "utf8");
    expect(pr.length).toBeLessThanOrEqual(65_536);
    expect(pr).toContain("| 3 | 03-failure-modes | **");
    const pngs = readdirSync(join(env.K2_OUT_DIR, "png"));
    expect(pngs).toContain("01-latency-1.png");
    for (const f of pngs) {
      const bytes = new Uint8Array(await Bun.file(join(env.K2_OUT_DIR, "png", f)).arrayBuffer());
      expect([...bytes.slice(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
      const width = new DataView(bytes.buffer).getUint32(16);
      expect(width).toBeGreaterThan(300); // a chart, not a legend swatch
    }
    // as a reviewer sees them: at 1280 px nothing cut and every figure at the column's width; on a phone the page
    // itself never scrolls sideways, nor does any table (on a phone a table of more than three columns reads as cards);
    // no console message at either width; each page prints; screenshots for the reviewer
    const pages = readdirSync(env.K2_OUT_DIR).filter((f) => f.endsWith(".html"));
    expect(pages.length).toBe(notebooks.length + 1);
    const browser = await Browser.open();
    try {
      for (const page of pages) {
        for (const [width, height] of [
          [1280, 800],
          [390, 844],
        ] as const) {
          const png = join(SCREENS, `${page.replace(/\.html$/, "")}-${width}.png`);
          const l = await browser.look(`file://${join(env.K2_OUT_DIR, page)}`, width, height, png);
          const narrow = l.figures.filter((w) => w < 0.9 * l.column).map((w) => Math.round(w));
          const seen = { page, width, pageOverflow: l.pageOverflow, console: l.console, narrow, cut: l.cutTables };
          expect(seen).toEqual({ page, width, pageOverflow: false, console: [], narrow: [], cut: [] });
        }
        const pdf = await browser.pdf();
        expect({ page, head: new TextDecoder().decode(pdf.slice(0, 5)) }).toEqual({ page, head: "%PDF-" });
        expect(pdf.length).toBeGreaterThan(10_000);
      }
    } finally {
      await browser.close();
    }
  }, 400_000);

  test("preview: the reload script only as served, a re-render pushed, the served page clean in Chromium", async () => {
    // its own out/ (this test stands alone): one report rendered from its fixture
    const own = tempDir("k2-preview-");
    cleanup.push(own);
    const penv = { K2_DATA_DIR: join(own, "data"), K2_OUT_DIR: join(own, "out"), DOCKER_HOST: env.DOCKER_HOST };
    cpSync(join(FIXTURES, "03-failure-modes"), join(penv.K2_DATA_DIR, "03-failure-modes"), { recursive: true });
    expect((await runCli("notebooks/03-failure-modes.ts", ["--from", "latest"], penv)).code).toBe(0);
    const p = startPreview(penv.K2_OUT_DIR, 0);
    try {
      const page = "03-failure-modes.html";
      const served = await (await fetch(`${p.url}${page}`)).text();
      const onDisk = readFileSync(join(penv.K2_OUT_DIR, page), "utf8");
      expect(onDisk).not.toContain("__reload");
      expect(served).toBe(onDisk.replace("</body>", `${RELOAD_SCRIPT}</body>`));
      expect((await fetch(`${p.url}../../etc/passwd`)).status).toBe(404);
      // a re-render (written atomically: a rename) reaches an open page
      const events = await fetch(`${p.url}__reload`);
      const reader = events.body!.getReader();
      await Bun.sleep(200);
      writeFileSync(join(penv.K2_OUT_DIR, `.${page}.tmp`), onDisk);
      renameSync(join(penv.K2_OUT_DIR, `.${page}.tmp`), join(penv.K2_OUT_DIR, page));
      let seen = "";
      for (const until = Date.now() + 5000; !seen.includes("data:") && Date.now() < until; ) {
        const { value } = await Promise.race([reader.read(), Bun.sleep(5000).then(() => ({ value: undefined }))]);
        seen += new TextDecoder().decode(value);
      }
      expect(seen).toBe(`: open\n\ndata: ${page}\n\n`);
      await reader.cancel();
      const r = await openInChromium(`${p.url}${page}`, join(dir, "served.pdf"));
      expect([r.console, r.pdf]).toEqual([[], "%PDF-"]);
    } finally {
      p.stop();
    }
  }, 120_000);
});
