/**
 * The server processes the testkit started (PostgreSQL, Azurite), killed when the test process exits so a
 * failed or interrupted run leaves no server behind; each with the signal that stops it at once.
 */
import type { ChildProcess } from "node:child_process";

const running = new Map<ChildProcess, NodeJS.Signals>();
let hookInstalled = false;

/** Tracks `child` until it exits (or fails to start); the promise settles then. */
export function trackChild(child: ChildProcess, killSignal: NodeJS.Signals): Promise<void> {
  if (!hookInstalled) {
    hookInstalled = true;
    process.on("exit", () => {
      for (const [c, signal] of running) {
        try {
          c.kill(signal);
        } catch {
          // already gone
        }
      }
    });
  }
  running.set(child, killSignal);
  return new Promise((resolve) => {
    const done = () => {
      running.delete(child);
      resolve();
    };
    child.once("exit", done);
    child.once("error", done);
  });
}
