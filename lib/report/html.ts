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
 * Code that wraps where a reader would break it: a <wbr> after each opening bracket, comma, comparison or arithmetic
 * operator, so `sum(rate(k2_trades_total{exchange="binance"}[5m])) > 0` breaks after "(", "{", "=" or ">", never
 * inside a metric or column name. The text is escaped first; an escaped "&gt;" or "&lt;" counts as its operator.
 */
export function codeHtml(text: string): SafeHtml {
  const breaks = escapeHtml(text).replace(/([({[,=+*/|-]|&gt;|&lt;)/g, "$1<wbr>");
  return raw(`<code>${breaks}</code>`);
}

/**
 * Make a data value inert inside markdown prose: turn markdown punctuation and HTML's
 * special characters into numeric entities, and break what autolinking looks for
 * (`://`, `www.`, `@`), so `*BTC*_x` or `http://x` prints as typed, in HTML and on
 * GitHub, and links nothing.
 */
export const escapeMarkdown = (v: unknown) =>
  noAutolink(String(v).replace(/[\\`*_{}\[\]()#+\-!|~<>&"']/g, (c) => `&#${c.charCodeAt(0)};`));
/**
 * A data value as markdown that reads as text (the PR summary, out/*.md): only what would change GitHub's rendering is
 * escaped, with a backslash, and nothing else, so that `offload_watermarks`, `http://localhost:9090` and `< 200 ms`
 * stay as typed. Escaped: `|` (a table cell ends), `\` before punctuation, a backtick, `<` before a letter, `/`, `!`
 * or `?` (a tag), `*`, `~` or a word-opening `_` before a non-space when another could close it (emphasis), `[` (a
 * link), `&` that spells an entity, `@` that starts a mention, and a newline (one line per cell).
 */
export function markdownText(v: unknown): string {
  const s = String(v);
  // emphasis and strikethrough need a closer: a lone "~50 msg/s" or "*" renders as typed
  const paired = (c: string) => s.split(c).length > 2;
  return s
    .replace(/\\(?=[!-/:-@[-`{-~])/g, "\\\\")
    .replace(/[|`[]/g, (c) => `\\${c}`)
    .replace(/<(?=[A-Za-z/!?])/g, "\\<")
    .replace(/[*~](?=\S)/g, (c) => (paired(c) ? `\\${c}` : c))
    .replace(/(?<![A-Za-z0-9])_(?=\S)/g, (c) => (paired(c) ? "\\_" : c))
    .replace(/&(?=#?\w+;)/g, "\\&")
    .replace(/(?<![\w`])@(?=\w)/g, "\\@")
    .replace(/\s*\n\s*/g, " ");
}
const noAutolink = (s: string) =>
  s
    .replace(/:\/\//g, "&#58;//")
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}&#46;`)
    .replace(/@/g, "&#64;");
