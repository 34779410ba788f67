/**
 * A directory-format dump uploaded while pg_dump still writes it. `tar --null -T -` reads the names of the files to
 * archive from its stdin one by one, as they are given (GNU tar reads the list as it goes), so each table's data
 * file is handed to it as soon as pg_dump reports that table's entry finished — its file is then complete and
 * closed (pg_dump's workers close a data file before they report its entry done; the leader prints
 * `finished item <dump id> TABLE DATA <table>` with --verbose). Whatever is left when pg_dump exits (the table of
 * contents `toc.dat`, written last, large objects' files, every file of a serial dump, which reports no finished
 * entries) follows, and the stream ends. tar runs zstd itself (`-I`) as before, so Node only sees zstd's output.
 *
 * The archive holds what `tar -cf - -C dir .` held: the directory entry `./` first (no recursion: each file is
 * named once), then `./<file>` for every file, only in the order they were finished; extraction does not depend
 * on the order. Nothing is committed here: the blocks are staged, and backup.ts commits them only after pg_dump,
 * tar and zstd all exited 0.
 */
import { statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import type { BlockBlobClient } from "@azure/storage-blob";
import { stageBlocks, type StagedBlocks, type StageOptions } from "./blobio";
import type { StreamCompress } from "./metadata";
import { describeExit, killed, start, type Exit, type Spawned } from "./proc";

/** tar's argv: names from stdin, NUL-separated, each archived as given, through `zstd -q -<level> -T0`. */
export function tarStreamArgv(dir: string, streamCompress: StreamCompress | undefined): string[] {
  const zstd =
    streamCompress === undefined ? [] : ["-I", `zstd -q -${streamCompress.slice("zstd:".length)} -T0`];
  return [...zstd, "-cf", "-", "-C", dir, "--no-recursion", "--null", "--verbatim-files-from", "-T", "-"];
}

export class DirectoryUpload {
  private readonly sent = new Set<string>();
  /** The size of each file handed over while pg_dump ran, when it was. */
  private readonly sizes = new Map<string, number>();
  private finishing = false;
  private readonly staging: Promise<StagedBlocks>;
  /** Settles when the upload cannot go on (tar or the staging failed); never while it works. */
  readonly failed: Promise<never>;

  private constructor(
    private readonly tar: Spawned,
    private readonly dir: string,
    private readonly database: string,
    blob: BlockBlobClient,
    stage: StageOptions,
  ) {
    this.staging = stageBlocks(blob, tar.child.stdout as Readable, stage).catch(async (cause: unknown) => {
      throw new Error(`backup of ${database} failed, nothing committed${await killed(this.tar, "tar")}`, {
        cause,
      });
    });
    this.failed = Promise.race([
      this.staging.then(() => new Promise<never>(() => undefined)),
      tar.exit.then(async (exit) => {
        if (exit.code === 0) return new Promise<never>(() => undefined);
        await this.staging.catch(() => undefined);
        throw this.tarFailed(exit);
      }),
    ]);
    this.failed.catch(() => undefined);
    // A tar that died early closes its stdin: the names written after that are lost, which `failed` reports.
    this.stdin.on("error", () => undefined);
    this.give(".");
  }

  /** Starts `tar` in `dir` (which must exist: pg_dump accepts an empty directory) and the staging of its output. */
  static start(o: {
    readonly dir: string;
    readonly database: string;
    readonly streamCompress: StreamCompress | undefined;
    readonly env: NodeJS.ProcessEnv;
    readonly blob: BlockBlobClient;
    readonly stage: StageOptions;
  }): DirectoryUpload {
    const tar = start("tar", tarStreamArgv(o.dir, o.streamCompress), {
      env: o.env,
      stdout: "pipe",
      stdin: "pipe",
    });
    return new DirectoryUpload(tar, o.dir, o.database, o.blob, o.stage);
  }

  /** The tar process (its /proc io counts the dump's bytes read, for progress). */
  get process(): Spawned {
    return this.tar;
  }

  /**
   * Hands a complete file of the dump directory (its base name) to tar, once. One handed over while pg_dump
   * runs has its size noted: `finish` refuses the backup if it changed since (a table name holding a newline
   * and a forged `finished item` line could otherwise hand over a file pg_dump is still writing).
   */
  add(file: string): void {
    if (!this.finishing && !this.sent.has(`./${file}`)) {
      this.sizes.set(file, statSync(path.join(this.dir, file)).size);
    }
    this.give(`./${file}`);
  }

  /** How many files were handed over while pg_dump still ran. */
  get handedEarly(): number {
    return this.sizes.size;
  }

  /**
   * After pg_dump exited 0: every file not handed over yet (in name order), then the end of the list; resolves
   * with the staged blocks once tar exited 0, else throws what failed.
   */
  async finish(): Promise<StagedBlocks> {
    this.finishing = true;
    try {
      this.requireUnchanged();
      for (const f of (await readdir(this.dir)).sort()) this.add(f);
    } catch (err) {
      await this.abort();
      throw err;
    }
    this.stdin.end();
    const staged = await Promise.race([this.staging, this.failed]);
    const exit = await this.tar.exit;
    if (exit.code !== 0) {
      throw this.tarFailed(exit);
    }
    return staged;
  }

  /** Every file handed over while pg_dump ran still has the size it had then. */
  private requireUnchanged(): void {
    for (const [file, size] of this.sizes) {
      const now = statSync(path.join(this.dir, file)).size;
      if (now !== size) {
        throw new Error(
          `backup of ${this.database} failed, nothing committed: ${file} was handed to the upload at ${size} ` +
            `bytes, and pg_dump went on writing it (${now} bytes)`,
        );
      }
    }
  }

  /** After a failure elsewhere: stops tar, and waits for the staging to stop. */
  async abort(): Promise<void> {
    await killed(this.tar, "tar");
    await this.staging.catch(() => undefined);
  }

  private get stdin(): Writable {
    return this.tar.child.stdin!;
  }

  private give(name: string): void {
    if (this.sent.has(name)) return;
    this.sent.add(name);
    this.stdin.write(`${name}\0`);
  }

  /** tar (or the zstd it runs) exited non-zero: nothing is committed. */
  private tarFailed(exit: Exit): Error {
    return new Error(
      `backup of ${this.database} failed, nothing committed: ${describeExit("tar", exit, this.tar.stderr)}`,
    );
  }
}
