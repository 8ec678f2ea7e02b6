import { connectDocker } from "../lib/docker.ts";
import { removeLabContainers, ensureLabStack } from "../lib/lab/stack.ts";
const t = await connectDocker();
console.log("removed", await removeLabContainers(t));
if (process.argv[2] === "up") { const t0 = Date.now(); await ensureLabStack(t); console.log("up in", Date.now() - t0); }
