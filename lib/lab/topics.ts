// The lab's Redpanda topics, as files shared with the lab's k2-redpanda container (bind-mounted at /lab/topics),
// where a stand-in for the part of rpk the latency load uses reads and writes them. On a stack the load runs
// `rpk topic consume <topic> -o @<since>:<until> -n N | rpk topic produce <topic>` inside k2-redpanda; on the lab the
// same command runs through the same exec path: the stand-in prints the first N messages the lab's pipeline carried
// with a record timestamp in that span, and what it produces is read by the lab's consumer (the replayer) at its next
// flush, as the Kafka engine reads a topic.
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { topicOf } from "../k2/stack.ts";
import { LineTails } from "../runtime/fsx.ts";
import { EXCHANGES, type Exchange } from "./instruments.ts";

/**
 * The stand-in, installed in the container as /usr/local/bin/rpk. Accepted forms (as rpk's; -f is accepted and each
 * value printed on a line):
 *   rpk topic consume market.crypto.trades.binance.raw -o -500 -n 500 -f '%v\n'   the last 500 messages
 *   rpk topic consume market.crypto.trades.binance.raw -o @1771491600000:@1771491660000 -n 500
 *     the first 500 messages whose timestamp (unix ms) is in [t1, t2): the load's form, which replays only what was
 *     produced before the load started (`end` for t2, or a missing t1, as rpk reads them)
 *   rpk topic produce market.crypto.trades.binance.raw                            each stdin line becomes a message
 *   rpk cluster health                                                            the healthcheck: Healthy:  true
 * <topic> holds what the pipeline carried, one `timestamp<TAB>message` a line; <topic>.in what was produced here, for
 * the lab's consumer to read.
 */
const RPK_STANDIN = `#!/bin/sh
# rpk stand-in (K2 lab): what the latency load and compose's healthcheck use. Topics are files in /lab/topics.
if [ "$1 $2" = "cluster health" ]; then printf 'CLUSTER HEALTH OVERVIEW\nHealthy:  true\n'; exit 0; fi
[ "$1" = topic ] || { echo "rpk (K2 lab stand-in): only rpk topic consume|produce, rpk cluster health" >&2; exit 1; }
cmd=$2; topic=$3; f=/lab/topics/$topic; shift 3
case "$cmd" in
consume)
  n=-1; o=start
  while [ $# -gt 0 ]; do case "$1" in -n) n=$2; shift ;; -o) o=$2; shift ;; esac; shift; done
  [ -f "$f" ] || { echo "TOPIC_NOT_FOUND: $topic" >&2; exit 1; }
  case "$o" in start | -[0-9]* | @*) ;; *) echo "rpk (K2 lab stand-in): unsupported offset: $o" >&2; exit 1 ;; esac
  case "$o" in
  start) cat "$f" ;;
  -[0-9]*) tail -n "\${o#-}" "$f" ;;
  @*)
    r=\${o#@}; t1=\${r%%:*}; t2=end
    case "$r" in *:*) t2=\${r#*:}; t2=\${t2#@} ;; esac
    awk -F '\\t' -v a="\${t1:-0}" -v b="\${t2:-end}" '$1 >= a + 0 && (b == "end" || $1 < b + 0)' "$f" ;;
  esac | cut -f 2- | if [ "$n" -ge 0 ]; then head -n "$n"; else cat; fi ;;
produce) cat >> "$f.in" ;;
*) echo "rpk (K2 lab stand-in): unsupported: rpk topic $cmd" >&2; exit 1 ;;
esac
`;

export class LabTopics {
  private readonly tails = new LineTails<Exchange>();
  constructor(readonly dir: string) {}

  /** The folder and the stand-in, for k2-redpanda's mounts; leaves any topic as it is. */
  install(): this {
    mkdirSync(join(this.dir, "topics"), { recursive: true });
    writeFileSync(join(this.dir, "rpk"), RPK_STANDIN);
    chmodSync(join(this.dir, "rpk"), 0o755);
    return this;
  }
  /** Fresh topics for a fresh pipeline; what was produced before now is not this run's. */
  setup(): this {
    this.install();
    for (const e of EXCHANGES) {
      writeFileSync(this.file(e), "");
      this.tails.skipTo(e, `${this.file(e)}.in`);
    }
    return this;
  }
  file(exchange: Exchange) {
    return join(this.dir, "topics", topicOf(exchange));
  }
  /** k2-redpanda's mounts: the topics, and the stand-in on its PATH. */
  binds(): string[] {
    return [`${join(this.dir, "topics")}:/lab/topics`, `${join(this.dir, "rpk")}:/usr/local/bin/rpk:ro`];
  }
  /** What the pipeline carried, in the order it consumed it, each with its record timestamp (when it was produced). */
  append(exchange: Exchange, records: { ts: number; message: string }[]) {
    if (records.length)
      appendFileSync(this.file(exchange), records.map((r) => `${Math.floor(r.ts)}\t${r.message}\n`).join(""));
  }
  /** How many messages the topic holds with a timestamp at `sinceMs` or later. */
  held(exchange: Exchange, sinceMs: number): number {
    if (!existsSync(this.file(exchange))) return 0;
    let n = 0;
    for (const line of readFileSync(this.file(exchange), "utf8").split("\n"))
      if (line && Number(line.split("\t", 1)[0]) >= sinceMs) n++;
    return n;
  }
  /** Whole lines produced into the topic since the last call. */
  produced(exchange: Exchange): string[] {
    return this.tails.read(exchange, `${this.file(exchange)}.in`);
  }
}
