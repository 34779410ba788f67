/**
 * Under the mock runtime: the data path's identity (managed identity, federated credential,
 * ServiceAccount, role assignment scoped to the backup container), Entra on the live server, and the security
 * context and limits of every pod the program declares, in every mode.
 */
import { strict as assert } from "node:assert";
import type { PlanResource, PlanResult } from "../dev/offline/mocks";
import { identityName, planIdentities, stableGuid, STORAGE_BLOB_DATA_CONTRIBUTOR } from "../plan";
import { parseConfig, readRawConfig } from "../config";
import { ALL_STATES } from "./support/dr-states";
import { declareStack, NOW, stackRaw, stackStrings } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const SUB = "/subscriptions/00000000-0000-0000-0000-000000000000";
const RG = `${SUB}/resourceGroups/s189t01-ittms-stg-rg`;
const CONTAINER_ID = `${RG}/providers/Microsoft.Storage/storageAccounts/s189t01ittmsdbbkpsa/blobServices/default/containers/database-backup`;
const ISSUER =
  "https://uksouth.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/00000000-0000-0000-0000-000000000000/";
const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];

function declare(
  sets: readonly string[] = [],
  stack: "staging" | "production" = "staging",
): Promise<PlanResult> {
  return declareStack(stack, sets);
}
function one(r: PlanResult, type: string, name: string): PlanResource {
  const found = r.resources.filter((x) => x.type === type && x.name === name);
  assert.equal(found.length, 1, `expected exactly one ${type} ${name}, found ${found.length}`);
  return found[0]!;
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Array<{
    name: string;
    securityContext?: Record<string, unknown>;
    resources?: { limits?: Record<string, string> };
  }>;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: PodSpec;
}
/** The pod templates of Deployments, Jobs and CronJobs, and the Pods. */
function podTemplates(r: PlanResult): Array<[string, PodTemplate]> {
  const out: Array<[string, PodTemplate]> = [];
  for (const x of r.resources) {
    const spec = (x.inputs as { spec?: Record<string, unknown> }).spec;
    if (x.type === "kubernetes:apps/v1:Deployment" || x.type === "kubernetes:batch/v1:Job")
      out.push([x.name, (spec as { template: PodTemplate }).template]);
    if (x.type === "kubernetes:core/v1:Pod")
      out.push([
        x.name,
        {
          metadata: (x.inputs as { metadata: PodTemplate["metadata"] }).metadata,
          spec: spec as unknown as PodSpec,
        },
      ]);
    if (x.type === "kubernetes:batch/v1:CronJob")
      out.push([
        x.name,
        (spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template,
      ]);
  }
  return out;
}

describe("program: the data path's identity (mock runtime)", function () {
  this.timeout(120_000);

  it("a managed identity, federated with exactly the data tool's ServiceAccount of the cluster's issuer", async () => {
    const r = await declare();
    const name = `${SVC}-dr-data`;
    assert.deepEqual(
      one(r, "azure-native:managedidentity:UserAssignedIdentity", `${SVC}-dr-identity-identity`).inputs,
      {
        resourceName: name,
        resourceGroupName: "s189t01-ittms-stg-rg",
        location: "uksouth",
        tags: { "service-dr": "data-tool" },
      },
    );
    assert.deepEqual(
      one(r, "azure-native:managedidentity:FederatedIdentityCredential", `${SVC}-dr-identity-federated`)
        .inputs,
      {
        federatedIdentityCredentialResourceName: `${name}-aks`,
        resourceName: name,
        resourceGroupName: "s189t01-ittms-stg-rg",
        issuer: ISSUER,
        subject: `system:serviceaccount:bat-staging-dr:${name}`,
        audiences: ["api://AzureADTokenExchange"],
      },
    );
    const sa = one(r, "kubernetes:core/v1:ServiceAccount", `${SVC}-dr-identity-service-account`);
    assert.deepEqual(sa.inputs, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name,
        // The data pods' namespace (kubernetes.dataNamespace's default), never the app's.
        namespace: "bat-staging-dr",
        labels: { "app.kubernetes.io/part-of": "service-dr" },
        // The identity's client id as Azure reports it (an Output: unknown in a first preview).
        annotations: { "azure.workload.identity/client-id": annotatedClientId(r) },
      },
      automountServiceAccountToken: false,
    });
    assert.ok(sa.options.dependencies?.includes(`${SVC}-dr-identity-federated`));
  });

  it("blob data access, standing: the custom role (read, write, add only) on the container, writes only under nightly/", async () => {
    const r = await declare();
    const blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
    const rd = one(r, "azure-native:authorization:RoleDefinition", `${SVC}-dr-identity-role`);
    const guid = stableGuid(`${RG}|${SVC}|nightly-backup-role`);
    assert.deepEqual(rd.inputs, {
      roleDefinitionId: guid,
      scope: RG,
      roleName: `${SVC} DR nightly backup (s189t01-ittms-stg-rg)`,
      description: "service-dr nightly backup: read, create and add to blobs; no delete, tier, lock or key",
      roleType: "CustomRole",
      assignableScopes: [RG],
      permissions: [
        {
          actions: [],
          notActions: [],
          dataActions: [`${blobs}/read`, `${blobs}/write`, `${blobs}/add/action`],
          notDataActions: [],
        },
      ],
    });
    const roleDefinitionId = `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
    assert.equal(rd.id, roleDefinitionId);
    const ra = one(r, "azure-native:authorization:RoleAssignment", `${SVC}-dr-identity-blob-data`);
    assert.deepEqual(ra.inputs, {
      // A new role, a new assignment name: created before the old assignment is deleted.
      roleAssignmentName: stableGuid(`${CONTAINER_ID}|${roleDefinitionId}|${SVC}-dr-data`),
      roleDefinitionId,
      principalId: principalIdOf(r),
      principalType: "ServicePrincipal",
      scope: CONTAINER_ID,
      description:
        "service-dr data tool: reads; writes nightly dumps only; never deletes (this container only)",
      condition:
        `((!(ActionMatches{'${blobs}/delete'}) AND !(ActionMatches{'${blobs}/move/action'}))) AND ` +
        `((!(ActionMatches{'${blobs}/write'} AND SubOperationMatches{'Blob.Write.Tier'}))) AND ` +
        `((!(ActionMatches{'${blobs}/write'}) AND !(ActionMatches{'${blobs}/add/action'})) OR ` +
        `(@Resource[${blobs}:path] StringLike 'nightly/*'))`,
      conditionVersion: "2.0",
    });
    // Its roleDefinitionId comes from the role definition: created after it.
    assert.ok(ra.options.dependencies?.includes(`${SVC}-dr-identity-role`), JSON.stringify(ra.options));
    // The only role definition the program declares.
    assert.deepEqual(
      r.resources.filter((x) => x.type === "azure-native:authorization:RoleDefinition").map((x) => x.name),
      [`${SVC}-dr-identity-role`],
    );
    assert.equal(STORAGE_BLOB_DATA_CONTRIBUTOR, "ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    // Outside an incident the only role assignment the program makes, and no Entra administrator but the group.
    assert.deepEqual(
      r.resources.filter((x) => x.type === "azure-native:authorization:RoleAssignment").map((x) => x.name),
      [`${SVC}-dr-identity-blob-data`],
    );
    assert.deepEqual(
      r.resources
        .filter((x) => x.type === "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra")
        .map((x) => x.name),
      [`${SVC}-live-entra-admin`],
    );
  });

  it("the recovery identity while an incident is open only: its own identity, federation, ServiceAccount, unconditioned role", async () => {
    const roleDefinitionId = `${SUB}/providers/Microsoft.Authorization/roleDefinitions/${STORAGE_BLOB_DATA_CONTRIBUTOR}`;
    const name = `${SVC}-dr-recovery`;
    for (const sets of [PTR, ["drMode=rebuild", "incidentId=inc-1"]]) {
      const r = await declare(sets);
      const c = `${SVC}-dr-recovery`;
      assert.deepEqual(one(r, "azure-native:managedidentity:UserAssignedIdentity", `${c}-identity`).inputs, {
        resourceName: name,
        resourceGroupName: "s189t01-ittms-stg-rg",
        location: "uksouth",
        tags: { "service-dr": "data-recovery" },
      });
      assert.deepEqual(
        one(r, "azure-native:managedidentity:FederatedIdentityCredential", `${c}-federated`).inputs,
        {
          federatedIdentityCredentialResourceName: `${name}-aks`,
          resourceName: name,
          resourceGroupName: "s189t01-ittms-stg-rg",
          issuer: ISSUER,
          subject: `system:serviceaccount:bat-staging-dr:${name}`,
          audiences: ["api://AzureADTokenExchange"],
        },
      );
      const sa = one(r, "kubernetes:core/v1:ServiceAccount", `${c}-service-account`);
      assert.deepEqual(sa.inputs, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: {
          name,
          namespace: "bat-staging-dr",
          labels: { "app.kubernetes.io/part-of": "service-dr" },
          annotations: { "azure.workload.identity/client-id": annotatedClientId(r, c) },
        },
        automountServiceAccountToken: false,
      });
      assert.notEqual(annotatedClientId(r, c), annotatedClientId(r), "two identities, two client ids");
      assert.deepEqual(one(r, "azure-native:authorization:RoleAssignment", `${c}-blob-data`).inputs, {
        roleAssignmentName: stableGuid(`${CONTAINER_ID}|${roleDefinitionId}|${name}`),
        roleDefinitionId,
        principalId: principalIdOf(r, c),
        principalType: "ServicePrincipal",
        scope: CONTAINER_ID,
        description:
          "service-dr recovery during an incident: incident dumps, logs and restores (this container only)",
      });
      assert.notEqual(principalIdOf(r, c), principalIdOf(r), "two identities, two principals");
      // The nightly identity keeps its conditioned role only: nothing more during an incident.
      assert.deepEqual(
        r.resources.filter((x) => x.type === "azure-native:authorization:RoleAssignment").map((x) => x.name),
        [`${SVC}-dr-identity-blob-data`, `${c}-blob-data`],
        sets.join(" "),
      );
    }
    // Closed (drMode none, the incident id still set): the recovery identity and all it holds are gone.
    const closed = await declare(["incidentId=inc-1"]);
    assert.deepEqual(
      closed.resources
        .filter((x) => x.name.includes("-dr-recovery") || x.name.endsWith("-entra-admin-recovery"))
        .map((x) => x.name),
      [],
    );
  });

  it("PostgreSQL: the group is the live server's administrator (stable API), the recovery identity one beside it during an incident", async () => {
    const r = await declare([...PTR, "drPhase=restore"]);
    const admin = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra";
    assert.deepEqual(one(r, admin, `${SVC}-live-entra-admin`).inputs, {
      serverName: "s189t01-ittms-stg-pg",
      resourceGroupName: "s189t01-ittms-stg-rg",
      objectId: "00000000-0000-0000-0000-000000000000",
      principalName: "s189t01-ittms-stg-pg-admins",
      principalType: "Group",
      tenantId: "00000000-0000-0000-0000-000000000000",
    });
    const recovery = {
      objectId: principalIdOf(r, `${SVC}-dr-recovery`),
      principalName: `${SVC}-dr-recovery`,
      principalType: "ServicePrincipal",
      tenantId: "00000000-0000-0000-0000-000000000000",
    };
    assert.deepEqual(one(r, admin, `${SVC}-live-entra-admin-recovery`).inputs, {
      serverName: "s189t01-ittms-stg-pg",
      resourceGroupName: "s189t01-ittms-stg-rg",
      ...recovery,
    });
    // The PTR copy holds live's roles of the restore time, before the recovery identity existed.
    assert.deepEqual(one(r, admin, `${SVC}-ptr-entra-admin-recovery`).inputs, {
      serverName: "s189t01-ittms-stg-pg-ptr",
      resourceGroupName: "s189t01-ittms-stg-rg",
      ...recovery,
    });
    // The preview resource is gone: only the stable one is declared.
    assert.deepEqual(
      r.resources.filter((x) => x.type === "azure-native:dbforpostgresql:Administrator"),
      [],
    );
    assert.deepEqual(one(r, "azure-native:authorization:ManagementLockByScope", `${SVC}-live-lock`).inputs, {
      scope: `${RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/s189t01-ittms-stg-pg`,
      lockName: "service-dr-live-server-cannot-delete",
      level: "CanNotDelete",
      notes: "The live database server of service-dr: holds the only copy of the data. See docs/runbook.md.",
    });
  });

  it("the identity plan: names derived from the service, the issuer from config", () => {
    const cfg = parseConfig(stackRaw("staging"), NOW);
    const p = planIdentities(cfg).nightly;
    assert.equal(p.name, identityName(SVC));
    assert.equal(p.issuer, ISSUER);
  });

  it("config: the issuer must be an https URL; the password break-glass is refused, with what replaces it", () => {
    const { raw } = readRawConfig(
      stackStrings("staging", [
        "workloadIdentity.oidcIssuerUrl=http://issuer",
        "workloadIdentity.postgresAuth=password",
      ]),
    );
    assert.throws(
      () => parseConfig(raw, NOW),
      (e: Error & { problems?: readonly string[] }) => {
        const problems = e.problems ?? [];
        assert.ok(
          problems.some((x) => /workloadIdentity\.oidcIssuerUrl.*https/.test(x)),
          problems.join("\n"),
        );
        assert.ok(
          problems.includes(
            'workloadIdentity.postgresAuth: is no longer a setting; the data tool always logs in with its managed identity (the servers accept Entra logins only): remove it with pulumi config rm --path workloadIdentity.postgresAuth; received "password"',
          ),
          problems.join("\n"),
        );
        return true;
      },
    );
  });

  for (const [state, sets] of ALL_STATES) {
    it(`${state}: every pod non-root, read-only root, no privilege escalation, all capabilities dropped, limits`, async () => {
      const r = await declare(sets);
      const templates = podTemplates(r);
      assert.ok(templates.length >= 2, "the maintenance page and the nightly backup at least");
      for (const [name, t] of templates) {
        const pod = t.spec;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: pod runAsNonRoot`);
        assert.equal(typeof pod.securityContext?.runAsUser, "number", `${name}: numeric runAsUser`);
        assert.notEqual(pod.securityContext?.runAsUser, 0, `${name}: not uid 0`);
        assert.deepEqual(pod.securityContext?.seccompProfile, { type: "RuntimeDefault" }, `${name}: seccomp`);
        assert.equal(pod.automountServiceAccountToken, false, `${name}: no Kubernetes API token`);
        for (const c of pod.containers) {
          assert.deepEqual(
            {
              runAsNonRoot: c.securityContext?.runAsNonRoot,
              allowPrivilegeEscalation: c.securityContext?.allowPrivilegeEscalation,
              readOnlyRootFilesystem: c.securityContext?.readOnlyRootFilesystem,
              capabilities: c.securityContext?.capabilities,
            },
            {
              runAsNonRoot: true,
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ["ALL"] },
            },
            `${name}/${c.name}`,
          );
          assert.ok(
            c.resources?.limits?.cpu !== undefined && c.resources.limits.memory !== undefined,
            `${name}/${c.name}: limits`,
          );
        }
        if (!name.includes("maintenance")) {
          // The data tool's pods: the webhook's label (whose ServiceAccount: the next test).
          assert.equal(t.metadata?.labels?.["azure.workload.identity/use"], "true", name);
        }
      }
    });

    it(`${state}: the nightly CronJob runs as the nightly identity, every Job and pod as the recovery one; the recovery identity exists iff an incident is open`, async () => {
      const r = await declare(sets);
      const open = sets.some((x) => x === "drMode=ptr" || x === "drMode=rebuild");
      const runAs = new Map(
        podTemplates(r)
          .filter(([name]) => !name.includes("maintenance"))
          .map(([name, t]) => [name, t.spec.serviceAccountName]),
      );
      const expected = new Map<string, string>([[`${SVC}-nightly-cronjob`, `${SVC}-dr-data`]]);
      for (const x of r.resources)
        if (x.type === "kubernetes:batch/v1:Job" || x.type === "kubernetes:core/v1:Pod")
          expected.set(x.name, `${SVC}-dr-recovery`);
      assert.deepEqual(runAs, expected);
      assert.ok(open || expected.size === 1, "no Job or pod outside an incident");
      // The ServiceAccounts, the identities and the Entra administrators, exactly.
      const ofType = (type: string): string[] =>
        r.resources.filter((x) => x.type === type).map((x) => x.name);
      const geo = sets.some((x) => x === "rebuild.from=geo");
      const ptrCopy = sets.some((x) => x.startsWith("ptr.restoreTime="));
      assert.deepEqual(ofType("kubernetes:core/v1:ServiceAccount"), [
        `${SVC}-dr-identity-service-account`,
        ...(open ? [`${SVC}-dr-recovery-service-account`] : []),
      ]);
      assert.deepEqual(ofType("azure-native:managedidentity:UserAssignedIdentity"), [
        `${SVC}-dr-identity-identity`,
        ...(open ? [`${SVC}-dr-recovery-identity`] : []),
      ]);
      assert.deepEqual(
        ofType("azure-native:dbforpostgresql:AdministratorsMicrosoftEntra").sort(),
        [
          `${SVC}-live-entra-admin`,
          ...(open ? [`${SVC}-live-entra-admin-recovery`] : []),
          ...(geo ? [`${SVC}-live-geo-entra-admin`, `${SVC}-live-geo-entra-admin-recovery`] : []),
          ...(ptrCopy ? [`${SVC}-ptr-entra-admin-recovery`] : []),
        ].sort(),
      );
      // No administrator is ever the nightly identity.
      const nightlyPrincipal = principalIdOf(r);
      for (const x of r.resources.filter((y) => y.type.endsWith(":AdministratorsMicrosoftEntra"))) {
        assert.notEqual(x.inputs.objectId, nightlyPrincipal, x.name);
        assert.notEqual(x.inputs.principalName, `${SVC}-dr-data`, x.name);
      }
    });
  }

  it("the maintenance page: unprivileged nginx on 8080, as uid 101, /tmp writable", async () => {
    const r = await declare(["maintenance=true"]);
    const d = one(r, "kubernetes:apps/v1:Deployment", `${SVC}-maintenance-page`).inputs as {
      spec: {
        template: {
          spec: { securityContext: unknown; containers: Array<Record<string, unknown>>; volumes: unknown[] };
        };
      };
    };
    const pod = d.spec.template.spec;
    const c = pod.containers[0]!;
    assert.equal(c.image, "nginxinc/nginx-unprivileged:1.27-alpine");
    assert.deepEqual(c.ports, [{ containerPort: 8080, name: "http" }]);
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 101,
      runAsGroup: 101,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(c.resources, {
      requests: { cpu: "10m", memory: "16Mi" },
      limits: { cpu: "100m", memory: "64Mi" },
    });
    assert.ok((c.volumeMounts as Array<{ mountPath: string }>).some((m) => m.mountPath === "/tmp"));
    assert.deepEqual(pod.volumes[1], { name: "tmp", emptyDir: { sizeLimit: "64Mi" } });
  });
});

/** The annotation's value: the identity's clientId Output (the mock's GUID; unknown in a first preview). */
function annotatedClientId(r: PlanResult, component = `${SVC}-dr-identity`): string {
  const sa = one(r, "kubernetes:core/v1:ServiceAccount", `${component}-service-account`);
  const id = (sa.inputs as { metadata: { annotations: Record<string, string> } }).metadata.annotations[
    "azure.workload.identity/client-id"
  ];
  assert.match(id ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return id!;
}
function principalIdOf(r: PlanResult, component = `${SVC}-dr-identity`): string {
  const ra = one(r, "azure-native:authorization:RoleAssignment", `${component}-blob-data`);
  const id = ra.inputs.principalId as string;
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  return id;
}
