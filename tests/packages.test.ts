// The one list of Debian packages (lib/io/packages.ts) against the code: every binary that code or a test starts is
// declared there (or is a base-system command), so that the main job and tests/setup.sh install all of them.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BASE_COMMANDS, bin, missingLine, NEEDS, needsOf, purgeable } from "../lib/io/packages.ts";
import { ROOT } from "../lib/runtime/paths.ts";

const sources = [...new Bun.Glob("{lib,notebooks,tests}/**/*.ts").scanSync({ cwd: ROOT })].filter(
  (f) => !f.startsWith("tests/fixtures/"),
);
const declaredFiles: string[] = Object.values(NEEDS).flatMap((n) => [...n.files]);
const known = (path: string) => declaredFiles.includes(path) || BASE_COMMANDS.includes(basename(path));
const declaredNames = new Set([...BASE_COMMANDS, ...declaredFiles.map((f) => basename(f))]);

/** The first argument of every Bun.spawn / Bun.spawnSync call: `[file:line, expression]`. */
export function spawnedBinaries(text: string): { line: number; first: string }[] {
  const out: { line: number; first: string }[] = [];
  for (const m of text.matchAll(/Bun\.spawn(?:Sync)?\(\s*(?:\w+\()?\[\s*([^,\]]+?)\s*[,\]]/g))
    out.push({ line: text.slice(0, m.index).split("\n").length, first: m[1]! });
  return out;
}

/** Why a spawn's first argument is not known to come from the list, or null when it is. */
export function undeclared(first: string): string | null {
  if (first === "process.execPath") return null; // Bun itself
  if (/^bin\(("\w+"|[\w.]+)\)$/.test(first)) return null; // bin() takes only the list's names (typed)
  const literal = /^["'`]([^"'`$]+)["'`]$/.exec(first)?.[1];
  if (literal === undefined) return `${first}: start a binary with bin("...") from lib/io/packages.ts`;
  if (literal.startsWith("/")) return known(literal) ? null : `${literal} is not in the list`;
  return declaredNames.has(literal) ? null : `${literal} is neither in the list nor a base command`;
}

describe("the machine's packages, declared once", () => {
  test("every binary the code and the tests start is declared", () => {
    const bad: string[] = [];
    let seen = 0;
    for (const f of sources) {
      if (f === "tests/packages.test.ts") continue;
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const s of spawnedBinaries(text)) {
        seen++;
        const why = undeclared(s.first);
        if (why) bad.push(`${f}:${s.line}: ${why}`);
      }
      // a system path typed anywhere but the list is a binary the list may not know
      for (const m of text.matchAll(/["'`](\/(?:usr\/)?(?:s?bin|lib\/postgresql)\/[\w./-]+)["'`]/g))
        if (!known(m[1]!)) bad.push(`${f}: ${m[1]} is not in lib/io/packages.ts`);
    }
    expect(seen).toBeGreaterThan(20);
    expect(bad).toEqual([]);
  });

  test("the check itself: an undeclared binary, a path and an untyped variable are caught", () => {
    const text = 'Bun.spawn(["nginx", "-g"]);\nBun.spawnSync([SERVER, "x"]);\nBun.spawn(as([bin("initdb"), "-D"]));';
    const found = spawnedBinaries(text);
    expect(found.map((s) => s.first)).toEqual(['"nginx"', "SERVER", 'bin("initdb")']);
    expect(found.map((s) => undeclared(s.first) !== null)).toEqual([true, true, false]);
    expect(undeclared('"/usr/sbin/nginx"')).toContain("not in the list");
    expect(undeclared('"docker"')).toBeNull();
  });

  test("the main job's needs, the tests' and the purge list agree with the package names", () => {
    expect(needsOf("main").map((n) => NEEDS[n].pkg)).toEqual([
      "docker.io",
      "busybox-static",
      "prometheus",
      "prometheus-alertmanager",
      "fonts-dejavu-core",
      "postgresql", // the lab's Prefect DB
    ]);
    expect(needsOf("tests")).toEqual(Object.keys(NEEDS) as (keyof typeof NEEDS)[]);
    // what the node machine image ships is never purged; everything else on the list is
    expect(purgeable().sort()).toEqual(
      ["busybox-static", "chromium", "clickhouse-server", "docker.io", "prometheus", "prometheus-alertmanager"].sort(),
    );
    expect(bin("promtool")).toBe("/usr/bin/promtool");
    expect(missingLine(["alertmanager"])).toMatch(/prometheus-alertmanager missing .*: sudo bun run setup/);
  });
});
