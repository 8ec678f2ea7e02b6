// A loopback port for a daemon we start (PostgreSQL, Prometheus, Alertmanager, clickhouse-server): one the system just
// gave out and took back. A port drawn at random from 20000-50000 is inside Linux's ephemeral range (32768-60999),
// where the suite's own outgoing connections take ports: "could not start server" in CI, four lanes at once. Another
// process can still take it before the daemon binds, so the starters try again on a new one when it says so.

/** A free TCP port on 127.0.0.1, as the system assigns one. */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** What a daemon says when its port was taken between freePort() and its bind. */
export const PORT_TAKEN = /could not bind|address already in use/i;

/** `start` on a free port; again on a new one (up to `tries` in all) while `taken` says the port was the trouble. */
export async function onFreePort<T>(
  start: (port: number) => Promise<T>,
  taken: (e: unknown, port: number) => boolean,
  tries = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    try {
      return await start(port);
    } catch (e) {
      if (attempt < tries && taken(e, port)) continue;
      throw e;
    }
  }
}
