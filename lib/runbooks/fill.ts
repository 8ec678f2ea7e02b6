// Filling a document's own "to fill in" places, byte for byte: a markdown table found by its header cells, its rows by
// the first column, single cells replaced; a `**Label:** --` line's value; each within a section when one is named.
// Every byte outside the cells filled stays as it was (separators, padding of other cells, line endings). Pure.
//
// Row keys are compared normalised, so that "1. Redpanda restart", "`redpanda`", "[7](phase-7/README.md)" and
// "**Total**" match "redpanda restart", "redpanda", "7" and "total".

/**
 * One cell. `annotate`: the cell's own text is kept and the value follows it in brackets (a planned figure with the
 * measured one beside it); a bracket this wrote before is replaced, so a second fill changes nothing.
 */
export type CellFill = { row: string; column: string; value: string; annotate?: boolean };
export type TableSpec = {
  /** the header cells that identify the table (normalised; others may sit between) */
  header: string[];
  /** the heading whose section holds the table; the whole file when absent */
  section?: string;
  cells: CellFill[];
};
export type LabelFill = { label: string; value: string; section?: string };
/** What a fill did: cells set (changed or already so) and what it could not find, by name. */
export type FillResult = { text: string; filled: number; missing: string[] };

const norm = (s: string) =>
  s
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*`_]/g, "")
    .replace(/^\s*\d+\.\s+/, "")
    .replace(/[-\s]+/g, " ")
    .trim()
    .toLowerCase();

/** The cells of a table line, split on unescaped pipes; [0] and the last are what lies outside the outer pipes. */
function splitRow(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\\" && i + 1 < line.length) {
      cur += line[i]! + line[i + 1]!;
      i++;
    } else if (line[i] === "|") {
      out.push(cur);
      cur = "";
    } else cur += line[i];
  }
  out.push(cur);
  return out;
}

const isRow = (line: string) => line.trimStart().startsWith("|");
/** A cell's text as markdown: pipes escaped, one line. */
const cellText = (s: string) => s.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

/** [start, end) line indexes of the section under `heading` (to the next heading of its level or higher). */
function sectionRange(lines: string[], heading: string | undefined): [number, number] | null {
  if (!heading) return [0, lines.length];
  const i = lines.findIndex((l) => /^#{1,6}\s/.test(l) && norm(l.replace(/^#+\s*/, "")).startsWith(norm(heading)));
  if (i < 0) return null;
  const level = lines[i]!.match(/^#+/)![0].length;
  const j = lines.findIndex((l, k) => k > i && new RegExp(`^#{1,${level}}\\s`).test(l));
  return [i, j < 0 ? lines.length : j];
}

/** Lines split keeping each one's ending, so that joining them gives the text back exactly. */
const linesOf = (text: string) => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
const body = (l: string) => l.replace(/\r?\n$/, "");
const ending = (l: string) => l.slice(body(l).length);

export function fillTable(text: string, spec: TableSpec): FillResult {
  const lines = linesOf(text);
  const where = spec.section ? `${spec.section}: ` : "";
  const range = sectionRange(lines.map(body), spec.section);
  const want = spec.header.map(norm);
  let head = -1;
  if (range)
    for (let i = range[0]; i < range[1] && head < 0; i++) {
      const cells = splitRow(body(lines[i]!)).map(norm);
      if (isRow(lines[i]!) && want.every((h) => cells.includes(h))) head = i;
    }
  if (head < 0) return { text, filled: 0, missing: [`${where}the table | ${spec.header.join(" | ")} |`] };
  const columns = splitRow(body(lines[head]!)).map(norm);
  const rows: number[] = [];
  for (let i = head + 2; i < lines.length && isRow(lines[i]!); i++) rows.push(i);
  let filled = 0;
  const missing: string[] = [];
  for (const c of spec.cells) {
    const col = columns.indexOf(norm(c.column));
    const key = (i: number) => norm(splitRow(body(lines[i]!))[1] ?? "");
    // exactly, else as the start of the row's name ("1x" is the row "1x baseline", not "10x stress")
    const row = rows.find((i) => key(i) === norm(c.row)) ?? rows.find((i) => key(i).startsWith(`${norm(c.row)} `));
    if (col < 0 || row === undefined) {
      missing.push(`${where}${col < 0 ? `column ${c.column}` : `row ${c.row}`} of | ${spec.header.join(" | ")} |`);
      continue;
    }
    const cells = splitRow(body(lines[row]!));
    if (col >= cells.length - 1) {
      missing.push(`${where}row ${c.row} has no ${c.column} cell`);
      continue;
    }
    const own = cells[col]!.trim().replace(/\s*\(measured[^]*$/, "");
    cells[col] = ` ${c.annotate ? `${own} (measured ${cellText(c.value)})` : cellText(c.value)} `;
    lines[row] = cells.join("|") + ending(lines[row]!);
    filled++;
  }
  return { text: lines.join(""), filled, missing };
}

/** `**Label:** value` or `Label: value` lines: the value after the label replaced, the label's own bytes kept. */
export function fillLabel(text: string, labelFill: LabelFill): FillResult {
  const lines = linesOf(text);
  const range = sectionRange(lines.map(body), labelFill.section);
  const where = labelFill.section ? `${labelFill.section}: ` : "";
  const esc = labelFill.label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^(\\s*(?:\\*\\*${esc}:?\\*\\*:?|${esc}:)[ \\t]*)(.*)$`);
  if (range)
    for (let i = range[0]; i < range[1]; i++) {
      const m = body(lines[i]!).match(re);
      if (!m) continue;
      lines[i] = m[1] + labelFill.value.replace(/\s*\n\s*/g, " ") + ending(lines[i]!);
      return { text: lines.join(""), filled: 1, missing: [] };
    }
  return { text, filled: 0, missing: [`${where}the line "${labelFill.label}:"`] };
}

/**
 * Rows of a table, each found by a cell that contains `match` (a file a link names): refilled where it is, appended
 * after the table's last row where it is not. `cells` by column; the first column numbers appended rows on.
 */
export type RowsSpec = { header: string[]; rows: { match: string; cells: Record<string, string> }[] };

export function upsertRows(text: string, spec: RowsSpec): FillResult {
  const lines = linesOf(text);
  const want = spec.header.map(norm);
  const head = lines.findIndex((l) => isRow(l) && want.every((h) => splitRow(body(l)).map(norm).includes(h)));
  if (head < 0) return { text, filled: 0, missing: [`the table | ${spec.header.join(" | ")} |`] };
  const columns = splitRow(body(lines[head]!)).map(norm);
  let last = head + 1;
  while (last + 1 < lines.length && isRow(lines[last + 1]!)) last++;
  const eol = ending(lines[head]!) || "\n";
  let filled = 0;
  for (const r of spec.rows) {
    const at = lines.slice(head + 2, last + 1).findIndex((l) => body(l).includes(r.match));
    const numbers = lines.slice(head + 2, last + 1).map((l) => Number.parseInt(norm(splitRow(body(l))[1] ?? ""), 10));
    const cells =
      at >= 0
        ? splitRow(body(lines[head + 2 + at]!))
        : ["", ` ${Math.max(0, ...numbers.filter(Number.isFinite)) + 1} `, ...columns.slice(2, -1).map(() => " "), ""];
    for (const [column, value] of Object.entries(r.cells)) {
      const i = columns.indexOf(norm(column));
      if (i > 0 && i < cells.length - 1) cells[i] = ` ${cellText(value)} `;
    }
    const line = cells.join("|") + (at >= 0 ? ending(lines[head + 2 + at]!) : "");
    if (at >= 0) lines[head + 2 + at] = line;
    else {
      if (!ending(lines[last]!)) lines[last] += eol;
      lines.splice(++last, 0, line + eol);
    }
    filled++;
  }
  return { text: lines.join(""), filled, missing: [] };
}

/** Several fills in order over one text. */
export function fillAll(text: string, fills: ({ table: TableSpec } | { label: LabelFill })[]): FillResult {
  let cur: FillResult = { text, filled: 0, missing: [] };
  for (const f of fills) {
    const r = "table" in f ? fillTable(cur.text, f.table) : fillLabel(cur.text, f.label);
    cur = { text: r.text, filled: cur.filled + r.filled, missing: [...cur.missing, ...r.missing] };
  }
  return cur;
}
