/**
 * The two identities of the data path, as planned (pure): which pod runs as which, in every runbook state, and
 * the PostgreSQL login of every connection agreeing with the ServiceAccount its pod runs as.
 */
import { strict as assert } from "node:assert";
import { parseConfig } from "../config";
import { buildPlan } from "../plan";
import type { Plan } from "../plan";
import type { ServerConnection } from "../plan";
import {
  identityName,
  nightlyWriteCondition,
  planIdentities,
  POD_IDENTITY,
  podIdentity,
  recoveryIdentityName,
  stableGuid,
} from "../plan";
import { ALL_STATES } from "./support/dr-states";
import { NOW, stackRaw } from "./support/stacks";

const SVC = "itt-mentor-services-staging";
const NIGHTLY = `${SVC}-dr-data`;
const RECOVERY = `${SVC}-dr-recovery`;

function planFor(sets: readonly string[]): Plan {
  return buildPlan(parseConfig(stackRaw("staging", sets), NOW), NOW);
}
const users = (c: Readonly<Record<string, ServerConnection | undefined>>): string[] =>
  Object.values(c).map((x) => x?.user ?? "?");

describe("plan: two identities, one answer for which pod runs as which", () => {
  it("POD_IDENTITY: the nightly backup as the nightly identity, the recovery pods as the recovery one", () => {
    assert.deepEqual(POD_IDENTITY, {
      "nightly-backup": "nightly",
      "recovery-job": "recovery",
      troubleshoot: "recovery",
    });
  });

  it("names: the nightly identity keeps the one identity's name of earlier versions, the recovery one its own", () => {
    assert.deepEqual([identityName(SVC), recoveryIdentityName(SVC)], [NIGHTLY, RECOVERY]);
  });

  it("a recovery pod outside an incident is refused, naming the identity", () => {
    const ids = planIdentities(parseConfig(stackRaw("staging", []), NOW));
    assert.equal(podIdentity(ids, "nightly-backup").name, NIGHTLY);
    assert.throws(() => podIdentity(ids, "troubleshoot"), {
      message: "troubleshoot runs as the recovery identity, which exists only while an incident is open",
    });
  });

  // [state, recovery identity planned, Jobs planned, troubleshooting pod planned]. ptr: backup-flawed,
  // inspect, reconcile, and the restore in one flow (restore --from-copy).
  const expected: Readonly<Record<string, readonly [boolean, number, boolean]>> = {
    none: [false, 0, false],
    "ptr isolate": [true, 2, true],
    "ptr restore": [true, 4, true],
    "ptr validate": [true, 4, true],
    "rebuild isolate": [true, 0, false],
    "rebuild restore": [true, 2, false],
    "rebuild validate": [true, 2, false],
    "rebuild revive": [true, 0, false],
    "rebuild geo": [true, 0, false],
    "planned maintenance": [false, 0, false],
  };
  for (const [state, sets] of ALL_STATES) {
    it(`${state}: ServiceAccounts and logins`, () => {
      const d = planFor(sets).dataPath;
      const [recovery, jobs, pod] = expected[state] ?? assert.fail(`no expectation for ${state}`);
      assert.deepEqual(
        {
          nightly: [d.identities.nightly.name, d.identities.nightly.serviceAccountName],
          recovery:
            d.identities.recovery === undefined
              ? undefined
              : [d.identities.recovery.name, d.identities.recovery.serviceAccountName],
          nightlyPod: [d.nightly.serviceAccountName, d.nightly.connection.user],
          jobs: d.jobs.map((j) => [j.serviceAccountName, ...new Set(users(j.connections))]),
          troubleshoot:
            d.troubleshootPod === undefined
              ? undefined
              : [d.troubleshootPod.serviceAccountName, ...new Set(users(d.troubleshootPod.connections))],
        },
        {
          nightly: [NIGHTLY, NIGHTLY],
          recovery: recovery ? [RECOVERY, RECOVERY] : undefined,
          nightlyPod: [NIGHTLY, NIGHTLY],
          jobs: Array.from({ length: jobs }, () => [RECOVERY, RECOVERY]),
          troubleshoot: pod ? [RECOVERY, RECOVERY] : undefined,
        },
      );
      // The nightly identity's role is always the conditioned one; the recovery one's never has a condition.
      assert.equal(d.identities.nightly.blobRole.condition, nightlyWriteCondition("nightly/"));
      assert.equal(d.identities.recovery?.blobRole.condition, undefined);
      assert.deepEqual(
        [d.identities.nightly.tag, d.identities.recovery?.tag],
        ["data-tool", recovery ? "data-recovery" : undefined],
      );
    });
  }
});

describe("plan: the data pods' namespace (kubernetes.dataNamespace)", () => {
  const PTR_OPEN = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];
  const rows: Array<{ what: string; sets: readonly string[]; ns: string }> = [
    { what: "the default, <namespace>-dr", sets: PTR_OPEN, ns: "bat-staging-dr" },
    { what: "set", sets: [...PTR_OPEN, "kubernetes.dataNamespace=bat-dr-data"], ns: "bat-dr-data" },
  ];
  for (const row of rows) {
    it(`${row.what}: identities, subjects, pods, policy and kubectl commands all name ${row.ns}`, () => {
      const p = planFor(row.sets);
      const ids = p.dataPath.identities;
      assert.deepEqual(
        [ids.nightly.namespace, ids.nightly.subject, ids.recovery?.namespace, ids.recovery?.subject],
        [
          row.ns,
          `system:serviceaccount:${row.ns}:${NIGHTLY}`,
          row.ns,
          `system:serviceaccount:${row.ns}:${RECOVERY}`,
        ],
      );
      assert.deepEqual([p.dataPath.namespace, p.dataPath.networkPolicy.namespace], [row.ns, row.ns]);
      assert.deepEqual(
        [p.dataPath.troubleshootPod?.psqlPtr, p.dataPath.troubleshootPod?.psqlLive],
        [
          `kubectl -n ${row.ns} exec -it dr-inc-1-psql -- psql-ptr`,
          `kubectl -n ${row.ns} exec -it dr-inc-1-psql -- psql-live`,
        ],
      );
    });
  }
});

describe("plan: the nightly identity's custom role", () => {
  it("read, write and add only, created in and assignable within the resource group; the assignment names it", () => {
    const cfg = parseConfig(stackRaw("staging"), NOW);
    const role = planIdentities(cfg).nightly.blobRole;
    const rg = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/s189t01-ittms-stg-rg";
    const blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
    assert.deepEqual(role.custom, {
      guid: stableGuid(`${rg}|${SVC}|nightly-backup-role`),
      roleName: `${SVC} DR nightly backup (s189t01-ittms-stg-rg)`,
      description: "service-dr nightly backup: read, create and add to blobs; no delete, tier, lock or key",
      scope: rg,
      assignableScopes: [rg],
      dataActions: [`${blobs}/read`, `${blobs}/write`, `${blobs}/add/action`],
    });
    assert.equal(
      role.roleDefinitionId,
      `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/${role.custom.guid}`,
    );
    assert.equal(role.condition, nightlyWriteCondition("nightly/"));
  });
});
