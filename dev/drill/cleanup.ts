import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** Stops and removes what the drill started, in reverse order, whatever happens; runs once. */
export class Cleanup {
  private readonly tasks: Array<() => Promise<void> | void> = [];
  private done: Promise<void> | undefined;

  add(task: () => Promise<void> | void): void {
    this.tasks.push(task);
  }

  /** A temporary directory, removed with the rest. */
  tempDir(prefix: string): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    this.add(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      for (const task of this.tasks.reverse()) {
        try {
          await task();
        } catch {
          // keep cleaning up
        }
      }
    })();
    return this.done;
  }
}
