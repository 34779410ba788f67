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

/** What the total of a `Progress` is: exact, or an estimate (then the line says `≈` and what it is from). */
export interface ProgressTotal {
  readonly bytes: number;
  /** e.g. `"the previous backup"`; undefined: exact. */
  readonly estimatedFrom?: string | undefined;
}

/** Counts bytes and logs at most every `intervalMs`, plus a final line from `done()`. */
export class Progress {
  private bytes = 0;
  private started = Date.now();
  private lastLog = Date.now();
  private total: ProgressTotal | undefined;

  constructor(
    private readonly label: string,
    private readonly log: Log,
    total?: number | ProgressTotal,
    private readonly intervalMs = 2000,
  ) {
    this.total = typeof total === "number" ? { bytes: total } : total;
  }

  /** A total learnt later (e.g. once a dump directory is complete); the rate restarts from here. */
  setTotal(total: ProgressTotal): void {
    this.total = total;
    this.started = Date.now();
    this.bytes = 0;
  }

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
    const total = this.total;
    if (total !== undefined && total.bytes > 0) {
      const pct = Math.min(100, (100 * this.bytes) / total.bytes);
      // Past an estimate's total the remaining time is unknown, not negative.
      const eta =
        rate > 0 && this.bytes <= total.bytes ? (total.bytes - this.bytes) / rate : Number.POSITIVE_INFINITY;
      const approx = total.estimatedFrom === undefined ? "" : "≈";
      text += ` of ${approx}${formatBytes(total.bytes)} (${approx}${pct.toFixed(0)}%)`;
      text += `, ${formatBytes(rate)}/s, ETA ${approx}${formatSeconds(eta)}`;
      if (total.estimatedFrom !== undefined) text += ` (estimated from ${total.estimatedFrom})`;
    } else {
      text += `, ${formatBytes(rate)}/s, ${formatSeconds(secs)} elapsed`;
    }
    return text;
  }
}
