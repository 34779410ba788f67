/**
 * Child process of test/tool-auth.test.ts: the tool's Entra token paths for real, in a process started with
 * NODE_EXTRA_CA_CERTS so that Node (and so the Azure SDK) trusts the test's self-signed Azurite certificate —
 * the same way an operator makes Node trust a private CA. A `backup` with `DR_STORAGE_AUTH=entra` (bearer token
 * to Azurite over HTTPS, `--oauth basic`) and `DR_PG_AUTH=entra` (the token as PostgreSQL password, for the
 * driver and for pg_dump), then `list` with the token, then a request with a token for the wrong audience.
 * Prints one JSON line.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { backup } from "../../src/backup";
import { blobStoreFromEnv, containerClient } from "../../src/blobstore";
import { connectionFromEnv } from "../../src/connection";
import { listBackups } from "../../src/list";

/** A credential that hands out fixed tokens per scope and records every request (stands in for Entra). */
class RecordingCredential implements TokenCredential {
  readonly scopes: string[] = [];
  constructor(private readonly tokens: Readonly<Record<string, string>>) {}
  getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken | null> {
    const scope = Array.isArray(scopes) ? scopes.join(" ") : scopes;
    this.scopes.push(scope);
    const token = this.tokens[scope];
    if (token === undefined) return Promise.reject(new Error(`no token for scope ${scope}`));
    return Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3600_000 });
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const credential = new RecordingCredential({
    "https://storage.azure.com/.default": env.TEST_STORAGE_TOKEN ?? "",
    "https://ossrdbms-aad.database.windows.net/.default": env.TEST_PG_TOKEN ?? "",
  });
  const store = blobStoreFromEnv(env, "backups", credential);
  await containerClient(store).createIfNotExists();
  const result = await backup({
    connection: connectionFromEnv(env, "", undefined, credential),
    store,
    prefix: "nightly/token-test",
    format: "custom",
    log: () => undefined,
  });
  const listed = await listBackups({ store, prefix: "nightly/token-test" });
  const wrong = blobStoreFromEnv(
    env,
    "backups",
    new RecordingCredential({ "https://storage.azure.com/.default": env.TEST_WRONG_AUDIENCE_TOKEN ?? "" }),
  );
  let refused: unknown;
  try {
    await listBackups({ store: { ...wrong, retry: { maxTries: 1 } }, prefix: "nightly/token-test" });
  } catch (e) {
    // listBackups names what it was listing; the service's answer is the cause.
    const cause = (e as { cause?: { statusCode?: number; code?: string } }).cause;
    refused = { status: cause?.statusCode, code: cause?.code };
  }
  process.stdout.write(
    `${JSON.stringify({
      blobName: result.blobName,
      listed: listed.map((b) => b.name),
      scopes: credential.scopes,
      wrongAudience: refused ?? "accepted",
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
