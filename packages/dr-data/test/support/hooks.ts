/**
 * Mocha root hooks (loaded by `require` in both .mocharc.json files): stop the shared PostgreSQL clusters and
 * Azurite (testkit/shared.ts) once, after every file has run.
 */
import { stopSharedServers } from "../../testkit/shared";

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopSharedServers();
  },
};
