/** Progress lines on stderr for long transfers: bytes, rate, and an ETA when the total is known. */

export type Log = (line: string) => void;

/** The default log: one line on stderr. */
export const stderrLog: Log = (line) => {
  process.stderr.write(`${line}\n`);
};

/** Bytes in binary units; whole bytes below 1 KiB (a rate of 65.04 bytes a second prints as `65 B`). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${v.toFixed(1)} ${units[i]}`;
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

  /** A total learnt later, keeping what was counted so far (the directory upload's exact length). */
  knowTotal(total: ProgressTotal): void {
    this.total = total;
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

/**
 * pg_restore's progress from its table of contents and `--verbose` lines: entries done of the archive's
 * (`pg_restore --list`), and, where the archive says how large each entry's data is (a directory-format dump's
 * `<id>.dat[.gz]` files), data bytes done of the total, which gives the rate and the ETA. pg_restore says
 * `processing item N` when a serial entry starts and `finished item N` when a parallel one ends; each entry
 * is counted once.
 */
export class ArchiveProgress {
  private readonly ids: ReadonlySet<number>;
  private readonly done = new Set<number>();
  private readonly dataTotal: number;
  private dataDone = 0;
  private readonly started = Date.now();
  private lastLog = Date.now();

  constructor(
    toc: string,
    private readonly dataBytes: ReadonlyMap<number, number>,
    private readonly log: Log,
    private readonly intervalMs = 5000,
  ) {
    this.ids = new Set(
      toc
        .split("\n")
        .map((l) => /^(\d+);/.exec(l)?.[1])
        .filter((x): x is string => x !== undefined)
        .map(Number),
    );
    let total = 0;
    for (const [id, n] of dataBytes) if (this.ids.has(id)) total += n;
    this.dataTotal = total;
  }

  /** Feeds one stderr line; true if it was a progress line (then not an error's text). */
  onLine(line: string): boolean {
    if (!line.startsWith("pg_restore: ")) return false;
    const m = /^pg_restore: (?:processing|finished) item (\d+) /.exec(line);
    if (m !== null) {
      const id = Number(m[1]);
      if (this.ids.has(id) && !this.done.has(id)) {
        this.done.add(id);
        this.dataDone += this.dataBytes.get(id) ?? 0;
      }
      this.tick();
      return true;
    }
    return /^pg_restore: (launching item|creating|processing data|executing|connecting|entering|finished main|setting owner)/.test(
      line,
    );
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastLog >= this.intervalMs) {
      this.lastLog = now;
      this.log(this.line(now));
    }
  }

  line(now = Date.now()): string {
    const secs = Math.max((now - this.started) / 1000, 1e-3);
    const entries = this.ids.size;
    let text = `restore: pg_restore ${this.done.size} of ${entries} archive entries (${pct(this.done.size, entries)})`;
    if (this.dataTotal > 0) {
      const rate = this.dataDone / secs;
      const eta = rate > 0 ? (this.dataTotal - this.dataDone) / rate : Number.POSITIVE_INFINITY;
      text +=
        `, data ${formatBytes(this.dataDone)} of ${formatBytes(this.dataTotal)} (${pct(this.dataDone, this.dataTotal)}), ` +
        `${formatBytes(rate)}/s, ETA of the data ${formatSeconds(eta)} (then indexes and constraints)`;
    } else {
      const rate = this.done.size / secs;
      const eta = rate > 0 ? (entries - this.done.size) / rate : Number.POSITIVE_INFINITY;
      text += `, ${rate.toFixed(1)} entries/s, ETA ≈${formatSeconds(eta)} (entries differ in size)`;
    }
    return `${text}, ${formatSeconds(secs)} elapsed`;
  }
}

const pct = (n: number, total: number) =>
  `${total === 0 ? 100 : Math.min(100, Math.floor((100 * n) / total))}%`;

/**
 * Progress of a phase counted in items (tables checksummed): a line every `intervalMs` while it runs, whether
 * or not an item finished meanwhile (one large table can take minutes), with done / total, rate and ETA.
 */
export class CountProgress {
  private done = 0;
  private total: number | undefined;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly label: string,
    private readonly unit: string,
    private readonly log: Log,
    private readonly intervalMs = 5000,
  ) {}

  /** Starts the steady lines; `stop` ends them. */
  start(): this {
    this.timer = setInterval(() => this.log(this.line()), this.intervalMs);
    this.timer.unref();
    return this;
  }

  update(done: number, total: number): void {
    this.done = done;
    this.total = total;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  line(now = Date.now()): string {
    const secs = Math.max((now - this.started) / 1000, 1e-3);
    if (this.total === undefined) return `${this.label}: started, ${formatSeconds(secs)} elapsed`;
    const rate = this.done / secs;
    const eta = rate > 0 ? (this.total - this.done) / rate : Number.POSITIVE_INFINITY;
    return (
      `${this.label}: ${this.done} of ${this.total} ${this.unit} (${pct(this.done, this.total)}), ` +
      `${rate.toFixed(2)} ${this.unit}/s, ETA ≈${formatSeconds(eta)} (${this.unit} differ in size), ` +
      `${formatSeconds(secs)} elapsed`
    );
  }
}
