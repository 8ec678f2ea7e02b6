// Where things live. Tests and CI point K2_DATA_DIR / K2_OUT_DIR elsewhere to stay hermetic.
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { K2Error } from "./errors.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const dataDir = () => resolve(ROOT, process.env.K2_DATA_DIR ?? "data");
export const outDir = () => resolve(ROOT, process.env.K2_OUT_DIR ?? "out");
/**
 * The folders the lab's containers mount (the handlers' FIFOs, the topics): data/lab-stack, or K2_LAB_STACK_DIR. The
 * containers are rebuilt when it changes (they must see the folder that is there), so runs that each keep their own
 * data folder, as the tests' lanes do, share one to keep the lab's containers as they are.
 */
export const labStackDir = () =>
  process.env.K2_LAB_STACK_DIR ? resolve(ROOT, process.env.K2_LAB_STACK_DIR) : resolve(dataDir(), "lab-stack");
/**
 * The embedded engine's folder when CLICKHOUSE_URL is unset: the K2 lab lives here. The main job runs a lab step beside
 * another in a second folder of the lab's, named by K2_LAB_ENGINE (`lab-engine-04-live-fire`): one engine per process.
 */
export const defaultEnginePath = () => resolve(dataDir(), labEngineName(process.env.K2_LAB_ENGINE));
export function labEngineName(name: string | undefined): string {
  const n = name?.trim() || LAB_ENGINE;
  if (n !== LAB_ENGINE && !/^lab-engine-[a-z0-9-]+$/.test(n))
    throw new K2Error(
      `invalid K2_LAB_ENGINE: ${JSON.stringify(n)} (a lab folder's name, e.g. lab-engine-04-live-fire)`,
    );
  return n;
}
const LAB_ENGINE = "lab-engine";
/** One target, whichever of the lab's folders a run used: the lab (a label names its folder: describeTarget). */
export const labTargetKey = (label: string) => label.replace(/(\/lab-engine)-[a-z0-9-]+$/, "$1");
