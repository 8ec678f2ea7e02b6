// The lab's feed handlers as real containers: each exchange's trades pass through its
// handler container. The replayer writes a trade to the handler's FIFO (bind-mounted at
// /lab/in); the container copies it to /lab/out.jsonl; the consumer tails that file. A
// stopped handler has no reader on the FIFO, so the write fails and the trade is lost, as
// a crashed handler misses its websocket's trades; a paused one stops copying, the pipe
// fills and further trades are lost. No traffic crosses any network.
import { closeSync, constants, existsSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LineTails } from "../runtime/fsx.ts";
import { EXCHANGES, type Exchange } from "./instruments.ts";

/**
 * The handler container's command: copy the FIFO to the out file, forever. cat runs in the
 * background and the shell waits on it, so `docker stop` ends it at once with exit 0 (a shell
 * blocked in a foreground cat would only die by SIGKILL after the stop timeout). A cat that
 * fails (the FIFO's folder removed under a running lab, as a test's temporary data is) waits
 * 1 s before the next: without it the loop forked cat as fast as it could, three handlers
 * taking most of a core (measured: 4-5 ticks/s in each shell alone, with its cats on top).
 */
export const HANDLER_CMD =
  "trap 'kill $c 2>/dev/null; exit 0' TERM INT; " +
  "while :; do cat /lab/in >> /lab/out.jsonl & c=$!; wait $c || { sleep 1 & c=$!; wait $c; }; done";

export class Conduits {
  private fds = new Map<Exchange, number>();
  private tails = new LineTails<Exchange>();
  constructor(readonly dir: string) {}

  folder(exchange: Exchange) {
    return join(this.dir, exchange);
  }
  binds(exchange: Exchange) {
    return [`${this.folder(exchange)}:/lab`];
  }

  /** Make each exchange's folder and FIFO; start reading the out file from its current end. */
  setup() {
    for (const e of EXCHANGES) {
      mkdirSync(this.folder(e), { recursive: true });
      const fifo = join(this.folder(e), "in");
      if (!existsSync(fifo) && Bun.spawnSync(["mkfifo", fifo]).exitCode !== 0) throw new Error(`mkfifo ${fifo} failed`);
      const out = join(this.folder(e), "out.jsonl");
      this.tails.skipTo(e, out);
    }
    return this;
  }

  /** Hand one line to the exchange's handler; false when the handler is not there to take it. */
  send(exchange: Exchange, line: string): boolean {
    let fd = this.fds.get(exchange);
    try {
      if (fd === undefined) {
        fd = openSync(join(this.folder(exchange), "in"), constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO: no reader
        this.fds.set(exchange, fd);
      }
      const buf = Buffer.from(line + "\n");
      return writeSync(fd, buf) === buf.length; // EAGAIN: the pipe is full (a paused handler)
    } catch {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {} // already closed by the failed write: the fd is forgotten either way, reopened on the next line
        this.fds.delete(exchange);
      }
      return false;
    }
  }

  /** Whole lines the handler has written since the last call. */
  collect(exchange: Exchange): string[] {
    return this.tails.read(exchange, join(this.folder(exchange), "out.jsonl"));
  }

  close() {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {} // closing on the way out: a pipe whose reader went first has nothing left to lose
    }
    this.fds.clear();
  }
}
