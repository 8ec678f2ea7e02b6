// One error type at the boundary. Library code throws K2Error with a one-line message that
// names the bad value and the fix; only the top of a notebook catches it, prints the line
// and exits with its code. Anything else that escapes is a bug and prints a stack.

export const EXIT = {
  usage: 2, // bad flag or config value
  unreachable: 3, // ClickHouse / Docker not reachable, wrong password
  notFound: 4, // unknown database, table, run id, container
  data: 5, // corrupt or unusable stored data, nothing in the window
  gate: 6, // --gate: a check or scenario failed its target
} as const;

export class K2Error extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = "K2Error";
  }
}

export function usageError(message: string): K2Error {
  return new K2Error(message, EXIT.usage);
}

// Passwords must never reach logs, errors or files: scrub any secret we know of
// (and user:password@ in URLs) from text that leaves the process.
const secrets = new Set<string>();
export function registerSecret(value: string | undefined) {
  if (value && value.length >= 3) secrets.add(value);
}
export function redact(text: string): string {
  let out = text.replace(/(\/\/[^/:@\s]+):[^@\s/]+@/g, "$1:***@");
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

// Repeated warnings are said once per process.
const warned = new Set<string>();
export function warnOnce(message: string) {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`warning: ${redact(message)}\n`);
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return redact(text.split("\n").find((l) => l.trim()) ?? text).trim();
}
