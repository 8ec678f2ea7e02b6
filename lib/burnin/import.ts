// What users already have, as the sampler's tidy rows. Two forms:
//
// 1. The brief's shell loop: `date -Iseconds` lines interleaved with docker stats lines
//      2026-02-19T09:00:00+00:00
//      k2-clickhouse,9.48%,1.291GiB / 7.648GiB
//      k2-redpanda,102.31%,812.5MiB / 2GiB
// 2. `docker stats --no-stream --format '{{json .}}'` snapshots, one JSON object a line
//    ({"Name":"k2-minio","CPUPerc":"0.15%","MemUsage":"95.2MiB / 1GiB",...}); a line that is
//    a timestamp (form 1) dates the snapshot lines after it, else a "Time" field may.
// CPU% is of one core (the CLI's convention): 102% is 1.02 cores.
export type Sample = {
  ts: number;
  container: string;
  cpuCores: number | null;
  memBytes: number | null;
  memLimitBytes: number | null;
  state: string;
};

const UNITS: Record<string, number> = {
  B: 1,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
};

/** "1.291GiB" -> 1386181591, "812.5MiB", "95kB", "0B" */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2]!.toUpperCase().replace(/^([KMGT])B$/, "$1B")];
  return unit === undefined ? null : Number(m[1]) * unit;
}

export class ImportError extends Error {}

type Fields = { name: string; cpu: string; mem: string; at: number | null };

/**
 * One stats line's fields, in either form:
 *   k2-clickhouse,9.48%,1.291GiB / 7.648GiB                          (the brief's loop, after a date line)
 *   {"Name":"k2-clickhouse","CPUPerc":"9.48%","MemUsage":"1.291GiB / 7.648GiB"}  (docker stats JSON)
 */
function fieldsOf(line: string, where: string, ts: number | null): Fields {
  if (!line.startsWith("{")) {
    const parts = line.split(",");
    if (parts.length !== 3)
      throw new ImportError(
        `${where}: expected name,CPU%,used / limit (e.g. k2-clickhouse,9.48%,1.291GiB / 7.648GiB), got ` +
          `${JSON.stringify(line.slice(0, 80))}`,
      );
    const [name, cpu, mem] = parts as [string, string, string];
    return { name, cpu, mem, at: ts };
  }
  let j: Record<string, string>;
  try {
    j = JSON.parse(line);
  } catch {
    throw new ImportError(`${where}: not a JSON object (expected docker stats --format '{{json .}}' output)`);
  }
  if (!j.Name || j.CPUPerc === undefined || j.MemUsage === undefined)
    throw new ImportError(`${where}: JSON line without Name, CPUPerc and MemUsage`);
  return { name: j.Name, cpu: j.CPUPerc, mem: j.MemUsage, at: j.Time ? Date.parse(j.Time) : ts };
}

/** A sample from one line's fields; `docker stats` prints "--" for a stopped container. */
function sampleOf({ name, cpu, mem, at }: Fields, where: string): Sample {
  if (at === null || Number.isNaN(at))
    throw new ImportError(
      `${where}: a stats line before any timestamp line (the brief's loop writes date -Iseconds first)`,
    );
  const c = /^\s*(\d+(?:\.\d+)?)%\s*$/.exec(cpu);
  const [used, limit] = mem.split("/").map((s) => s.trim());
  const memBytes = used !== undefined ? parseBytes(used) : null,
    memLimit = limit !== undefined ? parseBytes(limit) : null;
  const container = name.trim();
  if (cpu.trim() === "--" || used === "--")
    return { ts: at, container, cpuCores: null, memBytes: null, memLimitBytes: null, state: "not running" };
  if (!c) throw new ImportError(`${where}: CPU ${JSON.stringify(cpu)} is not a percentage like 9.48%`);
  if (memBytes === null || memLimit === null)
    throw new ImportError(
      `${where}: memory ${JSON.stringify(mem)} is not "used / limit" with units B, KiB, MiB, GiB, kB, MB or GB`,
    );
  return { ts: at, container, cpuCores: Number(c[1]) / 100, memBytes, memLimitBytes: memLimit, state: "running" };
}

export function parseStatsExport(text: string, file = "input"): Sample[] {
  const out: Sample[] = [];
  let ts: number | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const where = `${file}:${i + 1}`;
    if (!line) return;
    if (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})?$/.test(line)) {
      ts = Date.parse(line);
      if (Number.isNaN(ts))
        throw new ImportError(
          `${where}: unreadable timestamp ${JSON.stringify(line)} (expected date -Iseconds, e.g. ` +
            `2026-02-19T09:00:00+00:00)`,
        );
      return;
    }
    out.push(sampleOf(fieldsOf(line, where, ts), where));
  });
  if (!out.length)
    throw new ImportError(
      `${file}: no stats lines found (expected the brief's loop output or docker stats JSON lines)`,
    );
  return out;
}
