/**
 * The policy pack against the offline plan (issue 13): the program of every stack in every runbook state, as
 * the mock runtime records it (inputs, protect, dependencies — ids unknown as in a first preview), with the
 * stack's own policy config (policy/config/<stack>.json, what the workflows pass). No violation anywhere;
 * and a violation planted in a real plan fails it.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { PlanResult } from "../dev/offline/mocks";
import { runPolicies, type PackConfig } from "../policy/run";
import { ALL_STATES } from "./support/dr-states";
import { DATA_TOOL_REPOSITORY, isUnpublishedImage } from "../data-tool-image";
import { committedImage, declareStack, PROJECT_DIR } from "./support/stacks";

const STACKS = ["staging", "production"] as const;

function packConfig(stack: string): PackConfig {
  return JSON.parse(
    readFileSync(path.join(PROJECT_DIR, "policy", "config", `${stack}.json`), "utf8"),
  ) as PackConfig;
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

  it("every stack file has its policy config, production geo-redundant", () => {
    assert.deepStrictEqual(packConfig("staging"), {
      "geo-redundant-backup-in-production": { production: false },
    });
    assert.deepStrictEqual(packConfig("production"), {
      "geo-redundant-backup-in-production": { production: true },
    });
  });

  it("planted in the staging plan: production config (LRS), a key Secret, shared keys on, a lock removed, a root page", async () => {
    const r = await declare("staging", ["maintenance=true"]);
    const SVC = "itt-mentor-services-staging";
    const resources = r.resources
      .filter((x) => x.name !== `${SVC}-live-lock`)
      .map((x) => {
        if (x.name === `${SVC}-backups-account`)
          return { ...x, inputs: { ...x.inputs, allowSharedKeyAccess: true } };
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
        policy: "backup-storage-private",
        message: `${SVC}-backups-account: allowSharedKeyAccess must be false, got true`,
      },
      {
        policy: "backups-cannot-be-erased",
        message: `${SVC}-live-server: no CanNotDelete management lock on the live server`,
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
    ]);
  });
});
