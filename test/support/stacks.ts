/**
 * Test fixtures from the committed stack files, loaded exactly as the offline plan loads them (Pulumi.yaml
 * defaults, the stack file, declared secrets as placeholders), plus `--set`-style overrides.
 */
import * as path from "node:path";
import { DateTime } from "luxon";
import { runProgram, type PlanResult } from "../../dev/offline/mocks";
import { applySet, loadStackConfig, serializeConfig } from "../../dev/offline/stack-config";
import { PROJECT, readRawConfig } from "../../config";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
/** The clock the tests pin: a winter (GMT) morning. */
export const NOW = DateTime.fromISO("2026-11-25T10:00:00Z", { zone: "utc" });

/** `{ "service-dr:drMode": "none", … }` — every value a string, as the engine passes them. */
export function stackStrings(stack: string, sets: readonly string[] = []): Record<string, string> {
  const loaded = loadStackConfig(PROJECT_DIR, stack);
  const values = new Map(loaded.values);
  for (const s of sets) applySet(values, PROJECT, s);
  return serializeConfig(values);
}

/**
 * The stack file's `dataTool.image`: the release workflow's pull request changes it, so tests read it rather
 * than copy it.
 */
export function committedImage(stack: string): string {
  return (JSON.parse(stackStrings(stack)["service-dr:dataTool"] ?? "{}") as { image: string }).image;
}

/** The stack files declare no secret (the servers accept Entra logins only). */
export const SECRET_KEYS: readonly string[] = [];

const declared = new Map<string, Promise<PlanResult>>();

/**
 * What the program declares for a committed stack plus `--set` overrides at `NOW`, run once per distinct
 * input for the whole suite. Program runs are the suite's main cost (a mock-runtime run, ~170 ms): sharing
 * them took the root unit tests from 178 runs to 76 and `npm run test:unit` from 29 s to 17 s. The program is
 * a function of its config and clock only, so a second run would declare the same. The result is deep-frozen:
 * a test that changed it would fail instead of changing what the next test sees. A rejected run (bad config)
 * is shared the same way.
 */
export function declareStack(stack: string, sets: readonly string[] = []): Promise<PlanResult> {
  const config = stackStrings(stack, sets);
  const key = JSON.stringify(Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let run = declared.get(key);
  if (run === undefined) {
    run = runProgram(config, SECRET_KEYS, NOW).then(deepFreeze);
    declared.set(key, run);
  }
  return run;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The decoded raw object parseConfig takes. */
export function stackRaw(stack: string, sets: readonly string[] = []): Record<string, unknown> {
  const { raw, problems } = readRawConfig(stackStrings(stack, sets));
  if (problems.length > 0) throw new Error(`fixture ${stack} does not read cleanly: ${problems.join("; ")}`);
  return raw;
}

export const DR_NETWORK =
  "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/dr-rg/providers/Microsoft.Network";

/** `--set`s of a rebuild by geo-restore into ukwest as `serverName`, with that region's network. */
export function geoRebuildSets(serverName: string, extra: readonly string[] = []): string[] {
  return [
    "drMode=rebuild",
    "incidentId=inc-1",
    ...extra,
    "rebuild.from=geo",
    `rebuild.serverName=${serverName}`,
    "rebuild.location=ukwest",
    `rebuild.network.delegatedSubnetId=${DR_NETWORK}/virtualNetworks/dr-vnet/subnets/pg`,
    `rebuild.network.privateDnsZoneId=${DR_NETWORK}/privateDnsZones/dr.postgres.database.azure.com`,
  ];
}
