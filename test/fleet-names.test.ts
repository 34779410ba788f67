/**
 * The fleet: every committed stack (both services, both environments) plans in every runbook state, and no
 * physical name one stack can create or take over is one another stack can: Azure names that are global (a
 * server's or a storage account's DNS name) or scoped to their resource group, Kubernetes objects by kind,
 * namespace and name, a GitHub branch protection by repository and branch.
 */
import { strict as assert } from "node:assert";
import type { PlanResource } from "../dev/offline/mocks";
import { listStacks } from "../dev/fleet/status";
import { statesOf } from "./support/dr-states";
import { declareStack, PROJECT_DIR } from "./support/stacks";

/** Azure resources whose name is a DNS name, unique across Azure whatever the resource group. */
const GLOBAL_NAME: Readonly<Record<string, string>> = {
  "azure-native:storage:StorageAccount": "accountName",
  "azure-native:dbforpostgresql:Server": "serverName",
};

/** The physical identities a declared resource occupies; none for a component (it exists only in the state). */
export function physicalNames(r: PlanResource): string[] {
  const inputs = r.inputs;
  const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
  if (r.type.startsWith("kubernetes:")) {
    const md = (inputs.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    // An object without a name gets a generated one: it cannot collide.
    return md.name === undefined ? [] : [`${r.type} ${text(md.namespace)}/${text(md.name)}`];
  }
  if (r.type.startsWith("github:")) return [`${r.type} ${text(inputs.repositoryId)}:${text(inputs.pattern)}`];
  if (!r.type.startsWith("azure-native:")) return [];
  const global = GLOBAL_NAME[r.type];
  const names = Object.entries(inputs)
    .filter(([k]) => k.endsWith("Name") || k === "scope" || k === "name" || k === "resourceUri")
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${text(v)}`);
  return [
    `${r.type} ${names.join(" ")}`,
    ...(global === undefined ? [] : [`${r.type} global ${text(inputs[global])}`]),
  ];
}

describe("fleet: every stack plans in every state, and no physical name is shared", function () {
  this.timeout(300_000);
  const stacks = listStacks(PROJECT_DIR);

  it("the fleet's stacks: the reference service's two and the example service's two", () => {
    assert.deepStrictEqual(stacks, [
      "production",
      "school-visits-production",
      "school-visits-staging",
      "staging",
    ]);
  });

  it("no physical name is used by two stacks, in any runbook state", async () => {
    const owners = new Map<string, Set<string>>();
    for (const stack of stacks) {
      for (const [state, sets] of statesOf(stack)) {
        const plan = await declareStack(stack, sets).catch((err: unknown) => {
          throw new Error(`${stack}, ${state}: does not plan`, { cause: err });
        });
        for (const name of plan.resources.flatMap(physicalNames)) {
          owners.set(name, (owners.get(name) ?? new Set()).add(stack));
        }
      }
    }
    const shared = [...owners]
      .filter(([, by]) => by.size > 1)
      .map(([name, by]) => `${name}: ${[...by].join(", ")}`);
    // Known overlap, within one service only: its stacks share the service's repository, so both environments
    // declare the protection of its main branch (a freeze in either freezes both). Across services: nothing.
    assert.deepStrictEqual(shared.sort(), [
      "github:index/branchProtection:BranchProtection example-school-visits:main: school-visits-production, school-visits-staging",
      "github:index/branchProtection:BranchProtection itt-mentor-services:main: production, staging",
    ]);
    // The check saw every kind of name: servers, accounts, Kubernetes objects, branch protections.
    const kinds = new Set([...owners.keys()].map((n) => n.split(" ")[0]));
    for (const kind of [
      "azure-native:dbforpostgresql:Server",
      "azure-native:storage:StorageAccount",
      "kubernetes:batch/v1:Job",
      "github:index/branchProtection:BranchProtection",
    ]) {
      assert.ok(kinds.has(kind), kind);
    }
  });

  it("the example service differs where services differ: web only, its own namespace, database and size", async () => {
    const plan = await declareStack("school-visits-production");
    const server = plan.resources.find((r) => r.type === "azure-native:dbforpostgresql:Server");
    assert.deepStrictEqual(
      [
        server?.inputs.serverName,
        server?.inputs.sku,
        (server?.inputs.storage as { storageSizeGB?: number })?.storageSizeGB,
      ],
      ["s189p01-schvis-pd-pg", { name: "Standard_D4ds_v5", tier: "GeneralPurpose" }, 256],
    );
    const patches = plan.resources.filter((r) => r.type === "kubernetes:apps/v1:DeploymentPatch");
    assert.deepStrictEqual(
      patches.map((r) => {
        const { namespace, name } = r.inputs.metadata as { namespace: string; name: string };
        return `${namespace}/${name}`;
      }),
      ["school-visits-production/school-visits-production"],
    );
  });
});
