// Progress on long work, on stderr so stdout keeps the summary. On a terminal a bar that
// redraws in place; in CI logs a line every 10%.
export type Progress = { update(done: number, note?: string): void; end(note?: string): void };

export function progress(label: string, total: number, out: NodeJS.WriteStream = process.stderr): Progress {
  const tty = !!out.isTTY && !process.env.CI;
  let lastDraw = 0,
    lastDecile = -1;
  const line = (done: number, note = "") => {
    const f = total > 0 ? Math.min(1, done / total) : 1;
    const width = 24,
      full = Math.round(f * width);
    return `${label} [${"#".repeat(full)}${".".repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}% ${note}`;
  };
  return {
    update(done, note) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        out.write(`\r${line(done, note)}\x1b[K`);
      } else {
        const decile = Math.floor((done / Math.max(total, 1)) * 10);
        if (decile > lastDecile && decile < 10) {
          lastDecile = decile;
          out.write(`${line(done, note)}\n`);
        }
      }
    },
    end(note) {
      out.write(`${tty ? "\r" : ""}${line(total, note)}${tty ? "\x1b[K" : ""}\n`);
    },
  };
}
