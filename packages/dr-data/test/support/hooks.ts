/**
 * Mocha root hooks (loaded by `require` in both .mocharc.json files).
 *
 * - Stack traces keep Node's default 10 frames. Mocha's CLI sets `Error.stackTraceLimit = Infinity`, and
 *   Pulumi's runtime captures a stack for every promise it tracks (runtime/debuggable.js `debuggablePromise`),
 *   each mapped through tsx's source maps: with no limit, `npm run test:unit` took 41 s; with Node's default
 *   10 frames, 29 s (2 cores, load 0.3). Node's default is also what the real Pulumi CLI's process runs with.
 * - After every file has run: stop the shared PostgreSQL clusters and Azurite (testkit/shared.ts) once.
 */
import { stopSharedServers } from "../../testkit/shared";

// Mocha's CLI lifts the limit before it loads this file, so setting it here is enough.
Error.stackTraceLimit = 10;

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopSharedServers();
  },
};
