/** Child processes: the PostgreSQL client programs and tar. */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import path from "node:path";
import type { Log } from "./progress";

/** What every command that runs the PostgreSQL client programs takes: where they live, where its lines go. */
export interface ClientProgramOptions {
  /**
   * Where the client programs live: pg_dump (backup), pg_restore (restore, and backup's check of the dump's
   * table of contents), psql (reading back the tables a manifest summarized from the dump's COPY text).
   * Default: found on PATH (the CLI passes `PG_BINDIR`).
   */
  readonly binDir?: string | undefined;
  /** Where progress and notes go, a line at a time. Default: lines on stderr. */
  readonly log?: Log | undefined;
}

/** `name` inside `binDir`, or bare (found on PATH). `PG_BINDIR` in the environment is the CLI's default. */
export function binPath(binDir: string | undefined, name: string): string {
  return binDir === undefined || binDir === "" ? name : path.join(binDir, name);
}

/** The last `max` characters a stream printed: enough to say why a program failed. */
export class Tail {
  private text = "";
  constructor(private readonly max = 8192) {}
  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }
  toString(): string {
    return this.text.trim();
  }
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Resolves when the child has exited and its streams are closed; rejects if it could not be started. */
export function waitForExit(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
}

export function describeExit(program: string, exit: Exit, stderr: Tail | string): string {
  const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
  const text = stderr.toString();
  return `${program} ${how}${text === "" ? "" : `: ${text}`}`;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly stderr: Tail;
  readonly exit: Promise<Exit>;
}

/** Starts a program with stderr captured (tail) and stdin closed unless "pipe"; `stdout` "pipe" to stream it. */
export function start(
  program: string,
  argv: readonly string[],
  o: {
    env: NodeJS.ProcessEnv;
    stdout: "pipe" | "ignore";
    stdin?: "pipe" | "ignore";
    cwd?: string;
    detached?: boolean;
    /**
     * Each whole stderr line; returning true consumes it (kept out of the tail that error messages quote):
     * pg_restore --verbose's per-entry lines feed progress, not errors.
     */
    onStderrLine?: (line: string) => boolean;
  },
): Spawned {
  const options: SpawnOptions = {
    env: o.env,
    stdio: [o.stdin ?? "ignore", o.stdout, "pipe"],
    cwd: o.cwd,
    detached: o.detached ?? false,
  };
  const child = spawn(program, argv, options);
  const stderr = new Tail();
  const onLine = o.onStderrLine;
  if (onLine === undefined) {
    child.stderr?.on("data", (c: Buffer) => stderr.push(c));
  } else {
    let partial = "";
    const feed = (text: string) => {
      for (const line of text.split("\n")) if (line !== "" && !onLine(line)) stderr.push(`${line}\n`);
    };
    child.stderr?.on("data", (c: Buffer) => {
      const text = partial + c.toString();
      const cut = text.lastIndexOf("\n");
      partial = text.slice(cut + 1);
      if (cut >= 0) feed(text.slice(0, cut));
    });
    child.stderr?.on("end", () => feed(partial));
  }
  return { child, stderr, exit: waitForExit(child) };
}

/** Runs a program to completion; throws (with its stderr) unless it exits 0. Returns its stdout. */
export async function run(
  program: string,
  argv: readonly string[],
  o: { env: NodeJS.ProcessEnv; cwd?: string },
): Promise<string> {
  const p = start(program, argv, { env: o.env, stdout: "pipe", cwd: o.cwd });
  const chunks: Buffer[] = [];
  p.child.stdout?.on("data", (c: Buffer) => chunks.push(c));
  let exit: Exit;
  try {
    exit = await p.exit;
  } catch (cause) {
    throw new Error(`starting ${program}`, { cause });
  }
  if (exit.code !== 0) throw new Error(describeExit(path.basename(program), exit, p.stderr));
  return Buffer.concat(chunks).toString("utf8");
}

/** Stops a child after a failure elsewhere; what it said, if it had failed itself. */
export async function killed(child: Spawned, program: string): Promise<string> {
  child.child.kill("SIGTERM");
  const exit = await child.exit.catch(() => undefined);
  return exit !== undefined && exit.code !== 0 ? `; ${describeExit(program, exit, child.stderr)}` : "";
}
