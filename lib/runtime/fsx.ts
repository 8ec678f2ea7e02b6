// Writers: the only code that touches the file system for outputs. Every file is written
// to a temporary name beside its target and renamed into place, so a crash or a bad input
// never leaves a half-written file where a reader would find it.
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, basename } from "node:path";

export function tempPath(path: string): string {
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

export type FileWriter = { writeFile(path: string, data: string | Uint8Array): Promise<void> };
export const diskWriter: FileWriter = { writeFile: writeAtomic };
