// Writers: the only code that touches the file system for outputs. Every file is written
// to a temporary name beside its target and renamed into place, so a crash or a bad input
// never leaves a half-written file where a reader would find it.

import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
}

export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    await Bun.write(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Produce a file by a callback that writes to the temporary path it is given; rename on success. */
export async function produceAtomic(path: string, produce: (tmp: string) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    await produce(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true, recursive: true });
    throw e;
  }
}

/**
 * Whole lines appended to files since the last read, one position per key: a file another process appends to (a
 * handler container's output, a topic produced into) read like `tail -f`. A line still being written waits.
 */
export class LineTails<K> {
  private readonly offsets = new Map<K, number>();
  private readonly rest = new Map<K, string>();

  /** Start reading `path` from its current end. */
  skipTo(key: K, path: string) {
    this.offsets.set(key, existsSync(path) ? statSync(path).size : 0);
    this.rest.delete(key);
  }
  read(key: K, path: string): string[] {
    if (!existsSync(path)) return [];
    const from = this.offsets.get(key) ?? 0,
      size = statSync(path).size;
    if (size <= from) return [];
    const buf = Buffer.alloc(size - from),
      fd = openSync(path, "r");
    try {
      readSync(fd, buf, 0, buf.length, from);
    } finally {
      closeSync(fd);
    }
    this.offsets.set(key, size);
    const lines = ((this.rest.get(key) ?? "") + buf.toString("utf8")).split("\n");
    this.rest.set(key, lines.pop() ?? "");
    return lines.filter((l) => l.trim());
  }
}
