// Actions on a user's stack (a fault, a load) run only when confirmed: --yes, or "yes" typed at a terminal.
import { EXIT, K2Error, usageError } from "./errors.ts";

/**
 * `about` completes "About to ..." at the prompt (what exactly will happen); `refuse` completes "refusing to ..." when
 * there is no terminal to ask on, e.g. confirm("stop k2-feed-handler-binance on the real stack", o.yes, "inject faults
 * into a real stack").
 */
export async function confirm(about: string, yes: boolean, refuse: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) throw usageError(`refusing to ${refuse} without --yes (no terminal to ask on)`);
  process.stdout.write(`About to ${about}. Type yes to go on: `);
  for await (const line of console) {
    if (line.trim() === "yes") return;
    break;
  }
  throw new K2Error("not confirmed: nothing was done", EXIT.usage);
}
