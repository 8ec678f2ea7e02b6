// A report as a reviewer sees it: Debian's headless Chromium driven over the DevTools protocol (a WebSocket on
// loopback), the page laid out at a window size, measured in the page, and photographed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin } from "../lib/io/packages.ts";

/** What a reviewer would trip over, measured by the browser's own layout. */
export type Layout = {
  /** the page scrolls sideways */
  pageOverflow: boolean;
  /** tables wider than their box (their last columns cut until scrolled to), by caption or first header */
  cutTables: string[];
  /** header cells whose right edge is past their table's box, over all tables: the columns a reader cannot see */
  cutColumns: number;
  /** the reading column's width, and each figure's, in CSS pixels */
  column: number;
  figures: number[];
  /** console messages and uncaught errors */
  console: string[];
};

// Runs in the page: no script of the report's own is involved.
const MEASURE = `(() => {
  const main = document.querySelector("main") ?? document.body;
  const name = (t) =>
    (t.querySelector(".caption")?.textContent ?? t.querySelector("th")?.textContent ?? "table").trim();
  return {
    pageOverflow: document.documentElement.scrollWidth > window.innerWidth + 1,
    cutTables: [...document.querySelectorAll(".table")]
      .filter((w) => w.scrollWidth > w.clientWidth + 1).map(name),
    cutColumns: [...document.querySelectorAll(".table")].reduce((n, w) => {
      const edge = w.getBoundingClientRect().right;
      return n + [...w.querySelectorAll("th")].filter((th) => th.getBoundingClientRect().right > edge + 1).length;
    }, 0),
    column: main.clientWidth - parseFloat(getComputedStyle(main).paddingLeft) -
      parseFloat(getComputedStyle(main).paddingRight),
    figures: [...document.querySelectorAll("figure svg, figure img")]
      .filter((f) => !f.closest('[class*="-swatches"]'))
      .map((f) => f.getBoundingClientRect().width),
  };
})()`;

export class Browser {
  private constructor(
    private proc: Bun.Subprocess<"ignore", "ignore", "pipe">,
    private ws: WebSocket,
    private profile: string,
  ) {
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data));
      if (m.id && this.waiting.has(m.id)) {
        this.waiting.get(m.id)!(m);
        this.waiting.delete(m.id);
      } else if (m.method === "Runtime.consoleAPICalled")
        this.messages.push(m.params.args.map((a: { value?: unknown }) => String(a.value)).join(" "));
      else if (m.method === "Runtime.exceptionThrown") this.messages.push(m.params.exceptionDetails.text);
      // the browser's own entries: a resource that failed to load, a blocked request, a violation
      else if (m.method === "Log.entryAdded") this.messages.push(`${m.params.entry.level}: ${m.params.entry.text}`);
      else if (m.method === "Page.loadEventFired") this.loaded?.();
    };
  }
  private next = 1;
  private waiting = new Map<number, (m: { result?: unknown; error?: { message: string } }) => void>();
  private messages: string[] = [];
  private loaded?: () => void;

  static async open(): Promise<Browser> {
    const profile = mkdtempSync(join(tmpdir(), "k2-chromium-"));
    const proc = Bun.spawn(
      [
        bin("chromium"),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      { stdin: "ignore", stdout: "ignore", stderr: "pipe" },
    );
    // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr
    const reader = proc.stderr.getReader();
    let text = "";
    const until = Date.now() + 30_000;
    while (!/ws:\/\/127\.0\.0\.1:(\d+)\//.test(text) && Date.now() < until) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const port = text.match(/ws:\/\/127\.0\.0\.1:(\d+)\//)?.[1];
    if (!port) throw new Error(`chromium did not start its DevTools endpoint: ${text.slice(0, 300)}`);
    const pages = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const ws = new WebSocket(pages.find((p) => p.type === "page")!.webSocketDebuggerUrl);
    await new Promise((ok, fail) => {
      ws.onopen = ok;
      ws.onerror = fail;
    });
    const b = new Browser(proc, ws, profile);
    await b.send("Page.enable");
    await b.send("Runtime.enable");
    await b.send("Log.enable");
    return b;
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((ok, fail) =>
      this.waiting.set(id, (m) => (m.error ? fail(new Error(`${method}: ${m.error.message}`)) : ok(m.result as T))),
    );
  }

  /** The page at `url` in a window `width` × `height`, laid out and measured; a PNG of its whole length if asked. */
  async look(url: string, width: number, height: number, png?: string): Promise<Layout> {
    this.messages = [];
    await this.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: width < 600 });
    const loaded = new Promise<void>((ok) => (this.loaded = ok));
    await this.send("Page.navigate", { url });
    await loaded;
    const { result } = await this.send<{ result: { value: Omit<Layout, "console"> } }>("Runtime.evaluate", {
      expression: MEASURE,
      returnByValue: true,
    });
    if (png) {
      const shot = await this.send<{ data: string }>("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
        clip: { x: 0, y: 0, width, height: Math.min(6000, await this.pageHeight()), scale: 1 },
      });
      await Bun.write(png, Buffer.from(shot.data, "base64"));
    }
    return { ...result.value, console: [...this.messages] };
  }

  /** The page last looked at, printed as Chromium prints it (A4-ish Letter by default): the PDF's bytes. */
  async pdf(): Promise<Uint8Array> {
    const { data } = await this.send<{ data: string }>("Page.printToPDF", { printBackground: true });
    return new Uint8Array(Buffer.from(data, "base64"));
  }

  private async pageHeight(): Promise<number> {
    const { result } = await this.send<{ result: { value: number } }>("Runtime.evaluate", {
      expression: "document.documentElement.scrollHeight",
      returnByValue: true,
    });
    return result.value;
  }

  async close() {
    this.ws.close();
    this.proc.kill();
    await this.proc.exited;
    rmSync(this.profile, { recursive: true, force: true });
  }
}
