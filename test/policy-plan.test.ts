/**
 * The policy pack against the offline plan: the program of every stack in every runbook state, as
 * the mock runtime records it (inputs, protect, dependencies — ids unknown as in a first preview), with the
 * policy config of the stack's environment (policy/config/<environment>.json, what the workflows pass). No violation anywhere;
 * and a violation planted in a real plan fails it.
 */
import { strict as assert } from "node:assert";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import type { PlanResult } from "../dev/offline/mocks";
import { readPackConfig, runPolicies, type PackConfig } from "../policy/run";
import { stackEnvironment } from "../dev/fleet/environment";
import { listStacks } from "../dev/fleet/status";
import { ALL_STATES } from "./support/dr-states";
import { DATA_TOOL_REPOSITORY, isUnpublishedImage } from "../config";
import { committedImage, declareStack, PROJECT_DIR } from "./support/stacks";

const STACKS = ["staging", "production"] as const;

function packConfig(stack: string): PackConfig {
  return readPackConfig(PROJECT_DIR, stackEnvironment(PROJECT_DIR, stack));
}
/**
 * The committed stacks carry the unpublished image's placeholder digest until the release workflow's pull
 * request replaces it, and the pack refuses it (tested below): the other policies are checked on the stacks as
 * they are once that pull request is merged, with a published digest.
 */
const PUBLISHED = `dataTool.image=${DATA_TOOL_REPOSITORY}@sha256:${"5e".repeat(32)}`;
function declare(stack: (typeof STACKS)[number], sets: readonly string[]): Promise<PlanResult> {
  return declareStack(stack, [...sets, PUBLISHED]);
}

describe("policy pack on the offline plan of every stack and state", function () {
  this.timeout(120_000);
  for (const stack of STACKS) {
    for (const [state, sets] of ALL_STATES) {
      it(`${stack}, ${state}: no violation`, async () => {
        const r = await declare(stack, sets);
        assert.deepStrictEqual(await runPolicies(r.resources, packConfig(stack)), []);
      });
    }
  }

  it("the committed stacks, while their image is the unpublished placeholder, are refused: one line per data tool pod", async () => {
    for (const stack of STACKS) {
      const image = committedImage(stack);
      const r = await declareStack(stack, ["drMode=ptr", "incidentId=inc-1"]);
      const found = await runPolicies(r.resources, packConfig(stack));
      const SVC = stack === "staging" ? "itt-mentor-services-staging" : "itt-mentor-services-production";
      assert.deepStrictEqual(
        found,
        isUnpublishedImage(image)
          ? [`${SVC}-nightly-cronjob`, `${SVC}-recovery-dr-inc-1-backup-flawed`].map((name) => ({
              policy: "data-tool-image-by-digest",
              message: `${name}: container dr-data: image ${image} is the placeholder of an image not published yet; run the release-image workflow and merge the pull request it opens (it sets the published digest as dataTool.image)`,
            }))
          : [],
        stack,
      );
    }
  });

  it("one policy config per environment, chosen by the stack's environment; production geo-redundant", () => {
    assert.deepStrictEqual(readdirSync(path.join(PROJECT_DIR, "policy", "config")).sort(), [
      "production.json",
      "staging.json",
    ]);
    assert.deepStrictEqual(
      listStacks(PROJECT_DIR).map((s) => [s, packConfig(s)]),
      listStacks(PROJECT_DIR).map((s) => [
        s,
        packConfig(s.endsWith("production") ? "production" : "staging"),
      ]),
    );
    assert.deepStrictEqual(packConfig("staging"), {
      "geo-redundant-backup-in-production": { production: false },
      "backups-locked-in-production": { production: false },
      "alerts-in-production": { production: false },
      "drill-objectives-in-production": { production: false },
    });
    assert.deepStrictEqual(packConfig("production"), {
      "geo-redundant-backup-in-production": { production: true },
      "backups-locked-in-production": { production: true },
      "alerts-in-production": { production: true },
      "drill-objectives-in-production": { production: true },
    });
  });

  it("planted in the staging plan: production config (LRS, unlocked), a key Secret, shared keys on, a lock removed, an Owner role, a root page, no NetworkPolicy", async () => {
    const OWNER =
      "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
    const r = await declare("staging", ["maintenance=true"]);
    const SVC = "itt-mentor-services-staging";
    const resources = r.resources
      .filter((x) => x.name !== `${SVC}-live-lock` && x.name !== `${SVC}-dr-network-policy`)
      .map((x) => {
        if (x.name === `${SVC}-backups-account`)
          return { ...x, inputs: { ...x.inputs, allowSharedKeyAccess: true } };
        // The deploy identity's old rights given to the data tool: Owner can remove locks.
        if (x.type === "azure-native:authorization:RoleAssignment")
          return { ...x, inputs: { ...x.inputs, roleDefinitionId: OWNER } };
        if (x.type === "kubernetes:apps/v1:Deployment" && x.name === `${SVC}-maintenance-page`) {
          const spec = structuredClone(x.inputs.spec) as {
            template: { spec: { containers: Array<Record<string, unknown>> } };
          };
          delete spec.template.spec.containers[0]!.securityContext;
          return { ...x, inputs: { ...x.inputs, spec } };
        }
        return x;
      });
    // The old program's storage Secret, as the engine hands it to the pack (secrets unwrapped).
    resources.push({
      type: "kubernetes:core/v1:Secret",
      name: `${SVC}-dr-access-storage`,
      id: undefined,
      inputs: {
        metadata: { name: `${SVC}-dr-storage`, namespace: "bat-staging" },
        stringData: {
          AZURE_STORAGE_CONNECTION_STRING:
            "DefaultEndpointsProtocol=https;AccountName=s189t01ittmsdbbkpsa;AccountKey=abc==",
        },
      },
      options: {},
    });
    const found = await runPolicies(resources, packConfig("production"));
    const allowed =
      "Storage Blob Data Contributor (ba92f5b4-2d11-453d-a403-e96b0029c9fe), Storage Blob Data Reader (2a2b9908-6ea1-4ae2-8e65-a410df84e7d1) or a role definition this program declares";
    assert.deepStrictEqual(found, [
      {
        policy: "geo-redundant-backup-in-production",
        message: `${SVC}-backups-account: production needs a geo-redundant sku (Standard_GRS, Standard_RAGRS, Standard_GZRS, Standard_RAGZRS), got "Standard_LRS"`,
      },
      {
        policy: "geo-redundant-backup-in-production",
        message: `${SVC}-live-server: production needs backup.geoRedundantBackup Enabled (postgres.geoRedundantBackup=true)`,
      },
      {
        policy: "backups-locked-in-production",
        message: `${SVC}-backups-account: production needs immutableStorageWithVersioning.immutabilityPolicy.state Locked (backup.immutability=locked), got "Unlocked"`,
      },
      {
        policy: "backup-storage-private",
        message: `${SVC}-backups-account: allowSharedKeyAccess must be false, got true`,
      },
      {
        policy: "backups-cannot-be-erased",
        message: `${SVC}-live-server: no CanNotDelete management lock on the live server`,
      },
      {
        policy: "no-role-can-erase-backups",
        message: `${SVC}-dr-identity-blob-data: roleDefinitionId must be one of ${allowed}, got ${JSON.stringify(OWNER)}`,
      },
      {
        policy: "no-role-can-erase-backups",
        message: `${SVC}-dr-identity-blob-data: the nightly identity's role must be the custom role the program declares (blob read, write, add), got ${JSON.stringify(OWNER)}`,
      },
      {
        policy: "no-secret-with-a-storage-key",
        message: `${SVC}-dr-access-storage: stringData.AZURE_STORAGE_CONNECTION_STRING is a storage credential; the data tool uses its managed identity`,
      },
      // runAsNonRoot still holds from the pod's security context; the container's own settings are gone.
      {
        policy: "pods-non-root-read-only",
        message: `${SVC}-maintenance-page: container page must set readOnlyRootFilesystem: true`,
      },
      {
        policy: "pods-non-root-read-only",
        message: `${SVC}-maintenance-page: container page must set allowPrivilegeEscalation: false`,
      },
      // The data pods' NetworkPolicy removed: the nightly backup's pods are reported.
      {
        policy: "data-pods-network-limited",
        message: `${SVC}-nightly-cronjob: a data tool pod that no NetworkPolicy of its namespace selects`,
      },
    ]);
  });
});
