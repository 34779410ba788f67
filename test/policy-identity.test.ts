/**
 * The policy pack keeps the two identities apart (policy/policies.ts): a nightly CronJob never runs as the
 * recovery identity's ServiceAccount, and the nightly identity is never an Entra administrator. Checked here
 * on hand-made resources; test/policy-plan.test.ts runs the pack over the program's plan in every state.
 */
import { strict as assert } from "node:assert";
import {
  IDENTITY_TAGS,
  nightlyIdentityNeverAdministrator,
  nightlyNeverRecoveryIdentity,
} from "../policy/policies";
import { runPolicies, type DeclaredResource } from "../policy/run";
import type { StackValidationPolicy } from "@pulumi/policy";
import { parseConfig } from "../config";
import { planIdentities } from "../plan";
import { NOW, stackRaw } from "./support/stacks";

const NS = "bat-staging";
const res = (
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  deps: Record<string, readonly string[]> = {},
): DeclaredResource => ({
  type,
  name,
  inputs,
  options: { dependencies: [...new Set(Object.values(deps).flat())], propertyDependencies: deps },
});
const identity = (name: string, tag: string): DeclaredResource =>
  res("azure-native:managedidentity:UserAssignedIdentity", `${name}-identity`, {
    resourceName: name,
    tags: { "service-dr": tag },
  });
const serviceAccount = (name: string, from: string): DeclaredResource =>
  res(
    "kubernetes:core/v1:ServiceAccount",
    `${name}-sa`,
    { metadata: { name, namespace: NS, annotations: { "azure.workload.identity/client-id": "c" } } },
    { metadata: [`${from}-identity`] },
  );
const cronJob = (serviceAccountName: string, namespace = NS): DeclaredResource =>
  res("kubernetes:batch/v1:CronJob", "nightly-cronjob", {
    metadata: { name: "nightly", namespace },
    spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName, containers: [] } } } } },
  });
const admin = (name: string, principalName: string, from?: string): DeclaredResource =>
  res(
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra",
    name,
    { serverName: "pg", objectId: "o", principalName, principalType: "ServicePrincipal" },
    from === undefined ? {} : { objectId: [`${from}-identity`] },
  );
const BOTH = [
  identity("svc-dr-data", IDENTITY_TAGS.nightly),
  identity("svc-dr-recovery", IDENTITY_TAGS.recovery),
  serviceAccount("svc-dr-data", "svc-dr-data"),
  serviceAccount("svc-dr-recovery", "svc-dr-recovery"),
];

async function violations(resources: DeclaredResource[], policy: StackValidationPolicy): Promise<string[]> {
  return (await runPolicies(resources, {}, [policy])).map((v) => v.message);
}

describe("policy: the nightly backup never runs as the recovery identity", () => {
  it("passes the CronJob on the nightly ServiceAccount, and a recovery one of another namespace's name", async () => {
    assert.deepEqual(await violations([...BOTH, cronJob("svc-dr-data")], nightlyNeverRecoveryIdentity), []);
    assert.deepEqual(
      await violations([...BOTH, cronJob("svc-dr-recovery", "other")], nightlyNeverRecoveryIdentity),
      [],
    );
  });
  it("refuses a CronJob on the recovery identity's ServiceAccount", async () => {
    assert.deepEqual(await violations([...BOTH, cronJob("svc-dr-recovery")], nightlyNeverRecoveryIdentity), [
      "nightly-cronjob: a CronJob runs as ServiceAccount svc-dr-recovery, the recovery identity's; the nightly backup runs as the nightly identity's",
    ]);
  });
  it("knows the recovery ServiceAccount by where its client id came from, whatever its name", async () => {
    const renamed = serviceAccount("renamed", "svc-dr-recovery");
    assert.deepEqual(await violations([...BOTH, renamed, cronJob("renamed")], nightlyNeverRecoveryIdentity), [
      "nightly-cronjob: a CronJob runs as ServiceAccount renamed, the recovery identity's; the nightly backup runs as the nightly identity's",
    ]);
  });
});

describe("policy: the nightly identity is never an Entra administrator", () => {
  it("passes the group and the recovery identity", async () => {
    assert.deepEqual(
      await violations(
        [
          ...BOTH,
          admin("live-entra-admin", "pg-admins"),
          admin("live-entra-admin-recovery", "svc-dr-recovery", "svc-dr-recovery"),
        ],
        nightlyIdentityNeverAdministrator,
      ),
      [],
    );
  });
  it("refuses the nightly identity, by where its object id came from or by its name", async () => {
    assert.deepEqual(
      await violations(
        [
          ...BOTH,
          admin("live-entra-admin-data-tool", "x", "svc-dr-data"),
          admin("ptr-entra-admin-data-tool", "svc-dr-data"),
        ],
        nightlyIdentityNeverAdministrator,
      ),
      [
        "live-entra-admin-data-tool: the nightly identity svc-dr-data is made an Entra administrator; only the recovery identity may be one, while an incident is open",
        "ptr-entra-admin-data-tool: the nightly identity svc-dr-data is made an Entra administrator; only the recovery identity may be one, while an incident is open",
      ],
    );
  });
  it("the tags it looks for are the program's", () => {
    const ids = planIdentities(parseConfig(stackRaw("staging", ["drMode=rebuild", "incidentId=inc-1"]), NOW));
    assert.deepEqual(IDENTITY_TAGS, { nightly: ids.nightly.tag, recovery: ids.recovery?.tag });
  });
});
