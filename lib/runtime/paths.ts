// Where things live. Tests and CI point K2_DATA_DIR / K2_OUT_DIR elsewhere to stay hermetic.
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const dataDir = () => resolve(ROOT, process.env.K2_DATA_DIR ?? "data");
export const outDir = () => resolve(ROOT, process.env.K2_OUT_DIR ?? "out");
/** The embedded engine's folder when CLICKHOUSE_URL is unset: the K2 lab lives here. */
export const defaultEnginePath = () => resolve(dataDir(), "lab-engine");
