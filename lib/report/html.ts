// Escape by default: every value interpolated into `html` is escaped unless it is already
// SafeHtml (the output of another `html` template, a rendered figure, or `raw`).
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ESC[c]!);

function piece(v: unknown): string {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(piece).join("");
  return escapeHtml(v);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Trusted markup only: never pass a string that came from data. */
export const raw = (s: string) => new SafeHtml(s);

/**
 * Make a data value inert inside markdown prose: turn markdown punctuation and HTML's
 * special characters into numeric entities, and break what autolinking looks for
 * (`://`, `www.`, `@`), so `*BTC*_x` or `http://x` prints as typed, in HTML and on
 * GitHub, and links nothing.
 */
export const escapeMarkdown = (v: unknown) =>
  noAutolink(String(v).replace(/[\\`*_{}\[\]()#+\-!|~<>&"']/g, (c) => `&#${c.charCodeAt(0)};`));
export const noAutolink = (s: string) =>
  s
    .replace(/:\/\//g, "&#58;//")
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}&#46;`)
    .replace(/@/g, "&#64;");
