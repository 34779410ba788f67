/** Progress lines on stderr for long transfers: bytes, rate, and an ETA when the total is known. */

export type Log = (line: string) => void;

/** The default log: one line on stderr. */
export const stderrLog: Log = (line) => {
  process.stderr.write(`${line}\n`);
};

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Counts bytes and logs at most every `intervalMs`, plus a final line from `done()`. */
export class Progress {
  private bytes = 0;
  private readonly started = Date.now();
  private lastLog = Date.now();

  constructor(
    private readonly label: string,
    private readonly log: Log,
    private readonly total?: number,
    private readonly intervalMs = 2000,
  ) {}

  add(n: number): void {
    this.bytes += n;
    const now = Date.now();
    if (now - this.lastLog >= this.intervalMs) {
      this.lastLog = now;
      this.log(this.line(now));
    }
  }

  get transferred(): number {
    return this.bytes;
  }

  done(): void {
    this.log(`${this.line(Date.now())} (done)`);
  }

  private line(now: number): string {
    const secs = Math.max((now - this.started) / 1000, 1e-3);
    const rate = this.bytes / secs;
    let text = `${this.label}: ${formatBytes(this.bytes)}`;
    if (this.total !== undefined && this.total > 0) {
      const pct = Math.min(100, (100 * this.bytes) / this.total);
      const eta = rate > 0 ? (this.total - this.bytes) / rate : Number.POSITIVE_INFINITY;
      text += ` of ${formatBytes(this.total)} (${pct.toFixed(0)}%)`;
      text += `, ${formatBytes(rate)}/s, ETA ${formatSeconds(eta)}`;
    } else {
      text += `, ${formatBytes(rate)}/s, ${formatSeconds(secs)} elapsed`;
    }
    return text;
  }
}
