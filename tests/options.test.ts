// Options declared with their normalisers, parsed by the notebook runtime as a user's flags are.
import { expect, test } from "bun:test";
import { K2Error } from "../lib/runtime/errors.ts";
import { type Notebook, runNotebook } from "../lib/runtime/notebook.ts";
import * as opt from "../lib/runtime/options.ts";

const OPTIONS = {
  window: opt.duration("5m", "a window"),
  rate: opt.rate("1x", "a rate"),
  seed: opt.number("1", "a seed", 0, 10),
  since: opt.isoTime("a start"),
  names: opt.list((s) => s.toUpperCase(), "names", "a,b"),
  stack: opt.flag("on unless --no-stack", true),
  verbose: opt.flag("off unless --verbose"),
  note: opt.optionalText("free text"),
};
type Seen = opt.Parsed<typeof OPTIONS>;

/** Run the runtime on argv and return what parse received; parse stops the run before any fetch. */
async function parsed(argv: string[]): Promise<Seen> {
  let seen: Seen | undefined;
  const nb: Notebook<Seen, never, typeof OPTIONS> = {
    name: "options-test",
    title: "options",
    about: "",
    options: OPTIONS,
    parse: (v) => {
      seen = v;
      throw new K2Error("parsed", 0);
    },
    fetch: async () => {
      throw new Error("unreachable");
    },
    render: async () => ({ summary: [] }),
  };
  await runNotebook(nb, argv).catch((e) => {
    if (!(e instanceof K2Error) || e.message !== "parsed") throw e;
  });
  return seen!;
}

test("defaults are parsed like the flags the user would type", async () => {
  expect(await parsed([])).toEqual({
    window: 300_000,
    rate: 50,
    seed: 1,
    since: undefined,
    names: ["A", "B"],
    stack: true,
    verbose: false,
    note: undefined,
  });
});

test("each kind normalises its value; a boolean that defaults to on is turned off with --no-<name>", async () => {
  const v = await parsed([
    "--window=3m20s",
    "--rate=5x",
    "--seed=7",
    "--since=2026-02-19T09:00:00Z",
    "--names=x, y",
    "--no-stack",
    "--verbose",
    "--note=hi",
  ]);
  expect(v).toEqual({
    window: 200_000,
    rate: 250,
    seed: 7,
    since: Date.parse("2026-02-19T09:00:00Z"),
    names: ["X", "Y"],
    stack: false,
    verbose: true,
    note: "hi",
  });
});

test("a bad value is one error naming the flag and the value", async () => {
  const message = (argv: string[]) =>
    parsed(argv).then(
      () => "no error",
      (e: Error) => e.message,
    );
  expect(await message(["--window=5x"])).toBe('invalid --window: "5x" (expected e.g. 250ms, 60s, 5m, 3m20s, 24h)');
  expect(await message(["--seed=11"])).toBe('invalid --seed: "11" (expected a number >= 0 <= 10)');
  expect(await message(["--since=yesterday"])).toBe(
    'invalid --since: "yesterday" (expected an ISO time such as 2026-02-19T09:00:00Z)',
  );
  expect(await message(["--rate=fast"])).toBe('invalid --rate: "fast" (expected e.g. 1x, 5x, 10x or 120/s)');
});
