// A container of ours that runs out of memory: the fault behind ServiceOOMKill, on the lab's engine or a stack's. It
// runs the lab's offline-built image with no network and 16 MB, doubles a string until the kernel kills it, and is
// restarted by Docker (on-failure, 5 times). When that happens is the engine's business (creating a container on vfs
// storage takes seconds on a loaded machine), so the kill is watched for: inspect every 100 ms, and `seenAt` is when
// Docker first reported the kill or a restart.
import type { DockerTarget } from "../io/docker.ts";
import { runLabContainer } from "../lab/stack.ts";

const OOM_CONTAINER = "k2-lab-oom";
/** The fault as reports name it. */
export const OOM_FAULT = `${OOM_CONTAINER} (16 MB, no network) runs out of memory and restarts`;

export type OomFault = {
  /** when Docker first reported the kill or a restart (ms since the epoch), null until then */
  seenAt(): number | null;
  start(): Promise<void>;
  remove(): Promise<void>;
};

export function oomContainer(docker: DockerTarget): OomFault {
  let seenAt: number | null = null;
  let poll: ReturnType<typeof setInterval> | undefined;
  const inspect = async () => {
    const i = await docker.docker
      .getContainer(OOM_CONTAINER)
      .inspect()
      .catch(() => null); // not created yet, or removed at clearing: nothing seen this time
    if (i && (i.RestartCount > 0 || i.State.OOMKilled)) seenAt ??= Date.now();
  };
  return {
    seenAt: () => seenAt,
    async start() {
      seenAt = null;
      await runLabContainer(docker, {
        name: OOM_CONTAINER,
        cmd: 'x=a; while :; do x="$x$x"; done',
        memoryMb: 16,
        restart: { Name: "on-failure", MaximumRetryCount: 5 },
      });
      poll = setInterval(inspect, 100);
    },
    async remove() {
      clearInterval(poll);
      await docker.docker.getContainer(OOM_CONTAINER).remove({ force: true });
    },
  };
}
