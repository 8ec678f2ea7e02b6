// Plot figures rendered on the server: Plot builds SVG with a jsdom document passed in
// explicitly (as Plot's own tests do), and the markup goes inline into the page.
import * as Plot from "@observablehq/plot";
import type { JSDOM } from "jsdom";
import type { Status } from "../verdict/status.ts";
import { STATUS_COLOR } from "./colors.ts";
import { raw, type SafeHtml } from "./html.ts";

let dom: JSDOM | undefined;
// jsdom takes about a second of CPU to load: required at the first figure, so that a run without one (--help, a bad
// flag, an error before the report) does not pay for it
const doc = () =>
  (dom ??= new (require("jsdom") as typeof import("jsdom")).JSDOM("<!doctype html><html><body></body></html>")).window
    .document;

export function renderPlot(options: Plot.PlotOptions): SafeHtml {
  const el = Plot.plot({ ...options, document: doc() } as Plot.PlotOptions & {
    document: Document;
  }) as unknown as Element;
  // Inline SVG in HTML5 needs no namespace declarations; dropping them keeps the page free
  // of any http:// string at all.
  const markup = el.outerHTML.replace(/\s+xmlns(:\w+)?="[^"]*"/g, "");
  return raw(markup);
}

export { Plot, STATUS_COLOR };

/** A colour scale over the verdicts that occur, in the order given, with its legend. */
export function statusScale(present: Iterable<Status>): Plot.ScaleOptions {
  const order: Status[] = ["PASS", "WARN", "UNRESOLVED", "FAIL", "NOT RUN", "NOT CHECKED", "SKIPPED", "INFO"];
  const seen = new Set(present);
  const domain = order.filter((st) => seen.has(st));
  return { domain, range: domain.map((st) => STATUS_COLOR[st]), legend: true };
}
