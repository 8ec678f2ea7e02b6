// One fault in flight, for every step that breaks things (step 3's tests, the live fire's faults on a stack, the
// drill's): guarded, journalled, applied, and cleared exactly once whatever happens (Ctrl-C, an error, the end), with
// the outcome of clearing kept for the report. Without a Docker engine only the consumer hold, if any, is applied.
import type { DockerTarget } from "../io/docker.ts";
import { EXIT, firstLine, K2Error } from "../runtime/errors.ts";
import { applyFault, clearWithRetry, guard } from "./docker.ts";
import { type Action, type JournalEntry, journalAdd } from "./journal.ts";

/** Where faults are applied. */
export type FaultRig = {
  docker: DockerTarget | null;
  /** the lab's containers (guarded by their label), not a stack's */
  lab: boolean;
  /** the network a partition disconnects its container from */
  network: string;
  /** the lab's consumer, held during a fault that pairs with a hold */
  hold?: { paused: boolean };
};

/** The fault: `name` is its journal entry's (a test's name, "live-fire FeedHandlerDown"), `label` its messages'. */
export type Fault = { name: string; label: string; container: string; action: Action; consumerHold: boolean };
export type ClearOutcome = { ok: boolean; attempts: number; error?: string };

export class FaultControl {
  cleared = false;
  restore: ClearOutcome = { ok: true, attempts: 0 };
  private entry: JournalEntry | null = null;
  private checked = false;
  constructor(
    readonly rig: FaultRig,
    readonly fault: Fault,
  ) {}

  /** The guard: only a K2 container, in the lab only the lab's; apply runs it unless done (step 3 runs it first). */
  async check() {
    if (this.rig.docker) await guard(this.rig.docker, this.fault.container, this.rig.lab);
    this.checked = true;
  }

  async apply() {
    const { rig, fault: f } = this;
    if (!this.checked) await this.check();
    if (rig.docker) {
      const network = f.action === "disconnect" ? rig.network : undefined;
      const at = new Date().toISOString();
      this.entry = { test: f.name, container: f.container, action: f.action, network, at, pid: process.pid };
      await journalAdd(this.entry);
      // Docker lost while applying the fault: clear what may have taken effect, then say where things stand.
      await applyFault(rig.docker, this.entry).catch(async (e) => {
        if (e instanceof K2Error) throw e;
        await this.clear();
        throw new K2Error(
          `${f.label}: the Docker engine failed while applying the fault (${firstLine(e)}); ` +
            (this.restore.ok
              ? `${f.container} was restored`
              : `clearing failed ${this.restore.attempts} times (${this.restore.error}): ${f.container} may be left ` +
                "as the fault left it; once Docker answers, run this notebook again (it restores from the journal " +
                "first)"),
          EXIT.unreachable,
        );
      });
    }
    if (rig.hold && f.consumerHold) rig.hold.paused = true;
  }

  /** Clear once: a second call returns the first's outcome. */
  async clear(): Promise<ClearOutcome> {
    if (this.cleared) return this.restore;
    this.cleared = true;
    if (this.rig.hold && this.fault.consumerHold) this.rig.hold.paused = false;
    if (this.rig.docker && this.entry) this.restore = await clearWithRetry(this.rig.docker, this.entry);
    return this.restore;
  }
}
