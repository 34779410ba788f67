/**
 * The cross-field rules: the checks that relate keys to each other and to the clock, one concern each. Each
 * reads the values its keys' own schemas parsed (context.ts), never the raw config.
 */
import { Duration } from "luxon";
import { incidentIdProblems, suggestedIncidentId } from "@service-dr/dr-data";
import { azureUtc, humanInZone, restoreWindow, windowProblem } from "../plan/time";
import { DATA_TOOL_CLIENT_MAJOR } from "./data-tool-image";
import { SERVER_NAME_TEXT } from "./schema";
import { rm } from "./messages";
import type { Problem } from "./messages";
import type { RuleContext } from "./context";
import { dataNamespaceProblems } from "./data-namespace";
import { alertsScheduleProblems } from "./alerts";
import { drillProblems } from "./drill";

export type Rule = (ctx: RuleContext) => Problem[];

/** A dropped flexible server can be revived for this long after deletion. */
export const REVIVE_WINDOW = Duration.fromObject({ days: 5 });

/** The database lives on the server's storage: an expected size above it is a typo (GB for MB, an extra 0). */
const databaseSizeFitsStorage: Rule = ({ values }) => {
  const size = values.dataTool.databaseSizeGiB;
  const storage = values.postgres.storageSizeGb;
  if (size === undefined || storage === undefined || size <= storage) return [];
  return [
    `dataTool.databaseSizeGiB: must be at most postgres.storageSizeGb (${storage}), the server's storage that holds the database; received ${size}`,
  ];
};

/**
 * pg_dump refuses a server newer than itself: the servers' major must not pass the client the data tool's image
 * carries (`clientMajor`, image.json), or every backup of them fails.
 */
export const serverWithinClient =
  (clientMajor: number): Rule =>
  ({ values }) => {
    const version = values.postgres.version;
    if (version === undefined || Number(version) <= clientMajor) return [];
    return [
      `postgres.version: must be at most ${clientMajor}, the PostgreSQL client major of the data tool's image ` +
        `(packages/dr-data/image.json; pg_dump refuses a newer server): publish an image with a newer client first; received ${JSON.stringify(version)}`,
    ];
  };

/** An incident's Jobs and kept databases are named from its id: no incident without one. */
const incidentIdRequired: Rule = ({ values, set, now }) => {
  const mode = values.drMode;
  return (mode === "ptr" || mode === "rebuild") && !set("incidentId")
    ? [
        `incidentId: is required when drMode is ${mode} (it names this incident's Jobs and the databases the restore keeps); ` +
          `allowed: 1–20 lowercase letters, digits and hyphens; received nothing. Set it with: pulumi config set incidentId ${suggestedIncidentId(now, values.timeZone ?? "UTC", values.postgres.appDatabase)}`,
      ]
    : [];
};

/**
 * `incidentDeclaredAt`: the open incident's declaration time, where its report's RTO starts. Refused without an
 * open incident (a time left from a closed one would start the next incident's RTO), and in the future.
 */
const incidentDeclaredAtValid: Rule = ({ values, declared, now }) => {
  // Absent, or refused by its schema (which reports that one).
  if (values.incidentDeclaredAt === undefined) return [];
  const text = JSON.stringify(values.incidentDeclaredAt);
  if (values.drMode === "none")
    return [
      `incidentDeclaredAt: is allowed only while an incident is open (drMode ptr or rebuild: it starts that incident's RTO in its report); ` +
        `received ${text} with drMode none; remove it: ${rm("incidentDeclaredAt")}`,
    ];
  const at = declared.value;
  if (at === undefined) return [...declared.problems];
  return at.utc > now
    ? [
        `incidentDeclaredAt: must not be in the future (${azureUtc(at.utc)} UTC, now ${azureUtc(now)} UTC): ` +
          `it is when the incident was declared; received ${text}`,
      ]
    : [];
};

/** The PTR copy, and so everything after isolate, is made at the restore time. */
const restoreTimeRequiredInPhase: Rule = ({ values }) => {
  const phase = values.drPhase;
  return values.drMode === "ptr" &&
    (phase === "restore" || phase === "validate") &&
    values.ptr.restoreTime === undefined
    ? [
        `ptr.restoreTime: is required when drMode is ptr and drPhase is ${phase} (the PTR copy is made at that time); received nothing. ` +
          `Set it with: pulumi config set --path ptr.restoreTime 2026-11-24T13:05:00 (wall clock in ${values.timeZone ?? "the stack's timeZone"})`,
      ]
    : [];
};

/** `ptr.restoreTime` converts to one UTC instant (a valid time, no DST gap or overlap). */
const restoreTimeResolves: Rule = ({ restore }) => [...restore.problems];

/** `ptr.requestedAt` + `ptr.requestedFor`: both or neither, and bound to the current restore time. */
const restorePinValid: Rule = ({ pin }) => [...pin.problems];

/**
 * Azure restores only inside the retention window: checked at the pin's instant if there is one, else now.
 * Only in ptr mode, where the copy can still be (re)created.
 */
const restorePointInWindow: Rule = ({ values, restore, pin, now }) => {
  const retention = values.postgres.backupRetentionDays;
  if (values.drMode !== "ptr" || restore.value === undefined || retention === undefined) return [];
  const checkedAt = pin.value ?? now.toUTC();
  const utc = restore.value.utc;
  const zone = values.timeZone ?? "UTC";
  const problem = windowProblem(utc, restoreWindow(checkedAt, retention), checkedAt, zone);
  if (problem === undefined) return [];
  const at = pin.value === undefined ? "" : ` (checked at ptr.requestedAt, ${azureUtc(checkedAt)} UTC)`;
  return [
    `ptr.restoreTime: ${JSON.stringify(values.ptr.restoreTime)} → ${azureUtc(utc)} UTC ${problem}${at}`,
  ];
};

/** A revive needs the deletion time, and Azure revives a dropped server only for 5 days after it. */
const reviveDeletedAt: Rule = ({ values, set, deleted, now }) => {
  if (values.drMode !== "rebuild" || values.rebuild.from !== "revive") return [];
  if (!set("rebuild.deletedAt"))
    return [
      `rebuild.deletedAt: is required when rebuild.from is revive (Azure revives a dropped server to its deletion time); ` +
        `received nothing. Find it in the activity log and set: pulumi config set --path rebuild.deletedAt 2026-11-24T13:05:00`,
    ];
  const deletedAt = deleted.value;
  if (deletedAt === undefined) return [...deleted.problems];
  const text = JSON.stringify(values.rebuild.deletedAt);
  if (deletedAt.utc > now)
    return [
      `rebuild.deletedAt: is in the future (${azureUtc(deletedAt.utc)} UTC, now ${azureUtc(now)} UTC); received ${text}`,
    ];
  const since = now.minus(REVIVE_WINDOW);
  if (deletedAt.utc < since)
    return [
      `rebuild.deletedAt: is more than 5 days ago (${azureUtc(deletedAt.utc)} UTC); Azure can revive a dropped server only for 5 days ` +
        `after deletion (since ${azureUtc(since)} UTC, ${humanInZone(since, values.timeZone ?? "UTC")}); ` +
        `use rebuild.from backup; received ${text}`,
    ];
  return [];
};

/**
 * A geo-restore: the source's geo-redundant backup, the paired region and its network, and a new server —
 * another region and another name than the live server's. The name is checked whatever the mode (it becomes
 * postgres.serverName after the switch-over).
 */
const geoRules: Rule = (ctx) => [...geoNeeds(ctx), ...geoServerIsNew(ctx)];

/** What a geo-restore needs, in drMode rebuild with rebuild.from geo. */
function geoNeeds({ values, set }: RuleContext): Problem[] {
  const p: Problem[] = [];
  if (values.drMode !== "rebuild" || values.rebuild.from !== "geo") return p;
  if (values.postgres.geoRedundantBackup === false)
    p.push(
      `rebuild.from: geo needs postgres.geoRedundantBackup true (set when the lost server was created); received geo with postgres.geoRedundantBackup false; use rebuild.from backup or revive`,
    );
  if (!set("rebuild.location"))
    p.push(
      `rebuild.location: is required when rebuild.from is geo (the paired region to restore into, e.g. ukwest); received nothing`,
    );
  if (!set("rebuild.network"))
    p.push(
      `rebuild.network: is required when rebuild.from is geo (a delegated subnet and private DNS zone in rebuild.location); received nothing`,
    );
  if (!set("rebuild.serverName"))
    p.push(
      `rebuild.serverName: is required when rebuild.from is geo (a geo-restore creates a new server: server names are global DNS names and the lost server's record still exists); ` +
        `allowed: ${SERVER_NAME_TEXT}, at most 59 and not postgres.serverName; received nothing. Set it with: pulumi config set --path rebuild.serverName <name>-geo`,
    );
  return p;
}

/** The geo server is another region's and another name's than the live one. */
function geoServerIsNew({ values }: RuleContext): Problem[] {
  const p: Problem[] = [];
  const { rebuild, postgres } = values;
  const liveLocation = postgres.location ?? values.azure.location;
  if (rebuild.from === "geo" && rebuild.location !== undefined && rebuild.location === liveLocation)
    p.push(
      `rebuild.location: must be another region than the live server's (${liveLocation}) for a geo-restore; received ${JSON.stringify(rebuild.location)}`,
    );
  if (rebuild.serverName !== undefined && rebuild.serverName === postgres.serverName)
    p.push(
      `rebuild.serverName: must differ from postgres.serverName (the geo-restored server is a new server beside the lost one); received ${JSON.stringify(rebuild.serverName)} for both`,
    );
  return p;
}

/** The backup, restore and compare steps act on postgres.appDatabase: it must be declared. */
const databasesDeclared: Rule = ({ values }) => {
  const appDatabase = values.postgres.appDatabase;
  const declared = values.postgres.databases;
  const databases = declared === undefined ? undefined : Object.keys(declared);
  const p: Problem[] = [];
  if (appDatabase !== undefined && databases !== undefined && !databases.includes(appDatabase))
    p.push(
      `postgres.appDatabase: must be one of the keys of postgres.databases (${databases.join(", ") || "none declared"}); received ${JSON.stringify(appDatabase)}`,
    );
  if (databases?.length === 0)
    p.push(`postgres.databases: must declare at least the application's database; received {}`);
  return p;
};

/** Azure offers high availability only above the Burstable tier. */
const highAvailabilityNeedsTier: Rule = ({ values }) => {
  const ha = values.postgres.highAvailability;
  return ha !== undefined && ha !== "Disabled" && values.postgres.sku.tier === "Burstable"
    ? [
        `postgres.highAvailability: ${ha} is not available on the Burstable tier (allowed there: Disabled); received ${ha} with postgres.sku.tier Burstable`,
      ]
    : [];
};

/** Zone-redundant high availability keeps the standby in another zone than the primary. */
const standbyZoneDiffers: Rule = ({ values }) => {
  const { highAvailability, availabilityZone, standbyAvailabilityZone } = values.postgres;
  return highAvailability === "ZoneRedundant" &&
    availabilityZone !== undefined &&
    availabilityZone === standbyAvailabilityZone
    ? [
        `postgres.standbyAvailabilityZone: must differ from postgres.availabilityZone for ZoneRedundant high availability; received ${standbyAvailabilityZone} for both`,
      ]
    : [];
};

/** Stopping the service means stopping its deployments: an empty list would stop nothing. */
const deploymentsListed: Rule = ({ values }) => {
  const deployments = values.kubernetes.deployments;
  return deployments !== undefined && Object.keys(deployments).length === 0
    ? [`kubernetes.deployments: must list the deployments to stop (web, worker); received {}`]
    : [];
};

/** The temporary host is how the app is validated while the public one shows the maintenance page. */
const hostsDiffer: Rule = ({ values }) => {
  const { publicHost, temporaryHost } = values.kubernetes;
  return publicHost !== undefined && publicHost === temporaryHost
    ? [
        `kubernetes.temporaryHost: must differ from kubernetes.publicHost (the temporary ingress is how the app is validated while the public host shows the maintenance page); received ${temporaryHost} for both`,
      ]
    : [];
};

/** The data pods' namespace (set or derived) is a valid name and not the app's. */
const dataNamespaceApart: Rule = ({ values, set }) => {
  const { namespace, dataNamespace } = values.kubernetes;
  // Silent when either is invalid on its own: the schema reports that one.
  if (namespace === undefined || (set("kubernetes.dataNamespace") && dataNamespace === undefined)) return [];
  return dataNamespaceProblems(namespace, dataNamespace);
};

/** The missing-backup alert must know the schedule's longest gap: a daily schedule while alerts is set. */
const alertsScheduleKnown: Rule = ({ values, set }) =>
  alertsScheduleProblems(set("alerts"), values.backup.schedule);

/** A set drill: its objectives, its start, and room for its copy's and scratch database's names. */
const drillRule: Rule = ({ values, set, now }) =>
  drillProblems({
    drill: values.drill,
    objectivesSet: set("objectives"),
    serverName: values.postgres.serverName,
    appDatabase: values.postgres.appDatabase,
    now,
  });

/** A freeze that needs fewer approvers than normal would loosen the branch protection. */
const freezeApproversAtLeastNormal: Rule = ({ values }) => {
  const { normal, freeze } = values.github.approvers;
  return normal !== undefined && freeze !== undefined && freeze < normal
    ? [
        `github.approvers.freeze: must be ≥ github.approvers.normal (${normal}), or the freeze would loosen the branch protection; received ${freeze}`,
      ]
    : [];
};

/**
 * The recovery Jobs are named from the incident, their step and the restore time; the restore's databases
 * from the incident (rebuild) or the restore time (ptr): every such name must fit its limit.
 */
const incidentNamesFit: Rule = ({ values }) => {
  const incidentId = values.incidentId;
  if (incidentId === undefined) return [];
  return incidentIdProblems(incidentId, values.postgres.appDatabase).map(
    (problem) => `incidentId: ${problem}; received ${JSON.stringify(incidentId)}`,
  );
};

/**
 * The cross-field rules, in the order their problems are reported. A new rule is a function here and a row of
 * its own table test (test/config-rules.test.ts).
 */
export const CROSS_FIELD_RULES = {
  databaseSizeFitsStorage,
  serverWithinClient: serverWithinClient(DATA_TOOL_CLIENT_MAJOR),
  incidentIdRequired,
  incidentDeclaredAtValid,
  restoreTimeRequiredInPhase,
  restoreTimeResolves,
  restorePinValid,
  restorePointInWindow,
  reviveDeletedAt,
  geoRules,
  databasesDeclared,
  highAvailabilityNeedsTier,
  standbyZoneDiffers,
  deploymentsListed,
  hostsDiffer,
  dataNamespaceApart,
  freezeApproversAtLeastNormal,
  incidentNamesFit,
  alertsScheduleKnown,
  drillProblems: drillRule,
} as const satisfies Readonly<Record<string, Rule>>;

/** Every rule's problems, in the rules' order: all of them, not the first one. */
export function crossFieldProblems(ctx: RuleContext): Problem[] {
  return Object.values(CROSS_FIELD_RULES).flatMap((rule) => rule(ctx));
}
