// The fault journal: every fault in flight is on disk before it is applied (data/03-failure-modes/journal.json, one
// journal for every step that breaks things: step 3, the live fire, the drill), so that a run after a SIGKILL restores
// what a killed one left broken.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic } from "../runtime/fsx.ts";
import { dataDir } from "../runtime/paths.ts";

/** What a fault does to its container: stop it, restart it, or disconnect it from a network. */
export type Action = "stop" | "restart" | "disconnect";

export type JournalEntry = {
  test: string;
  container: string;
  action: Action;
  network?: string;
  /** a disconnect: the container's endpoint on the network before it, restored exactly at clearing */
  endpoint?: Endpoint;
  at: string;
  pid: number;
};
/**
 * A container's endpoint on a network: its static address (compose's ipv4_address, e.g. clickhouse 172.28.0.20 on
 * k2-net) and its aliases (the service name, `clickhouse`, by which the offload and Prometheus reach it). A plain
 * `docker network connect` brings the container back with neither.
 */
export type Endpoint = { ipv4: string | null; aliases: string[] };
export const journalPath = () => join(dataDir(), "03-failure-modes", "journal.json");
export const readJournal = (): JournalEntry[] =>
  existsSync(journalPath()) ? JSON.parse(readFileSync(journalPath(), "utf8")) : [];
const writeJournal = (entries: JournalEntry[]) => writeAtomic(journalPath(), JSON.stringify(entries, null, 2));
export async function journalAdd(entry: JournalEntry) {
  await writeJournal([...readJournal(), entry]);
}
export async function journalRemove(test: string) {
  await writeJournal(readJournal().filter((e) => e.test !== test));
}
export async function journalSet(entry: JournalEntry) {
  await writeJournal([...readJournal().filter((x) => x.test !== entry.test), entry]);
}
