/**
 * service-dr's invariants as CrossGuard policies (issue 13), all mandatory: a `pulumi preview` or `pulumi up`
 * with `--policy-pack policy` fails before anything is touched when one is broken. Kept apart from index.ts
 * (which only starts the pack) so that the unit tests and the offline-plan test run exactly these functions.
 *
 * Resources are recognised by their Pulumi type token and by the tags the program gives them
 * (`service-dr: live` on the live and geo servers, `service-dr: database-backups` on the backup account).
 * The stack policy sees outputs, as the engine gives them (policy/run.ts): azure-native does not return its
 * path parameters (`accountName`, `containerName`, a lock's `scope`), so which account or container a resource
 * belongs to is read from `propertyDependencies` — the resources each input's value came from — never from
 * those keys (they would be `undefined` on both sides and match everything).
 */
import type {
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { dataToolImageProblem, isUnpublishedImage } from "../config";

export const TYPES = {
  server: "azure-native:dbforpostgresql:Server",
  account: "azure-native:storage:StorageAccount",
  container: "azure-native:storage:BlobContainer",
  blobService: "azure-native:storage:BlobServiceProperties",
  immutability: "azure-native:storage:BlobContainerImmutabilityPolicy",
  lifecycle: "azure-native:storage:ManagementPolicy",
  lock: "azure-native:authorization:ManagementLockByScope",
  roleAssignment: "azure-native:authorization:RoleAssignment",
  roleDefinition: "azure-native:authorization:RoleDefinition",
  secret: "kubernetes:core/v1:Secret",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
} as const;

/** Kinds whose pod template the pod policy checks, and where the template is. */
const POD_TEMPLATES: Readonly<Record<string, (props: Props) => unknown>> = {
  "kubernetes:apps/v1:Deployment": (p) => at(p, "spec", "template"),
  "kubernetes:apps/v1:StatefulSet": (p) => at(p, "spec", "template"),
  "kubernetes:apps/v1:DaemonSet": (p) => at(p, "spec", "template"),
  "kubernetes:batch/v1:Job": (p) => at(p, "spec", "template"),
  "kubernetes:batch/v1:CronJob": (p) => at(p, "spec", "jobTemplate", "spec", "template"),
  "kubernetes:core/v1:Pod": (p) => ({ metadata: at(p, "metadata"), spec: at(p, "spec") }),
};

export const MIN_BACKUP_RETENTION_DAYS = 7;

/** Per-environment config of the production-only policies (policy/config/<environment>.json). */
export interface GeoConfig {
  readonly production: boolean;
}
/** Required on purpose: a stack whose environment has no policy/config/<environment>.json fails instead of skipping the check. */
const PRODUCTION_SCHEMA: PolicyConfigSchema = {
  properties: { production: { type: "boolean" } },
  required: ["production"],
};

/**
 * Built-in roles an identity of the program may be given: blob data only. None of them can change an
 * immutability policy, a lock or a role assignment (management-plane actions), nor set a blob's own
 * immutability policy (`…/blobs/immutableStorage/runAsSuperUser/action`, which only Storage Blob Data Owner has).
 */
export const ALLOWED_ROLES: Readonly<Record<string, string>> = {
  "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
  "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
};

type Props = Record<string, unknown>;

function at(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Props)[k];
  }
  return v;
}
const tag = (props: Props): unknown => at(props, "tags", "service-dr");
const isLiveServer = (type: string, props: Props): boolean => type === TYPES.server && tag(props) === "live";
const isBackupAccount = (type: string, props: Props): boolean =>
  type === TYPES.account && tag(props) === "database-backups";

/** A resource check on one type: `props` as the program declared them. */
function onType(
  type: string,
  check: (props: Props, args: ResourceValidationArgs, report: ReportViolation) => void,
): (args: ResourceValidationArgs, report: ReportViolation) => void {
  return (args, report) => {
    if (args.type === type) check(args.props as Props, args, report);
  };
}

export const liveServerProtected: ResourceValidationPolicy = {
  name: "live-server-protected-and-private",
  description:
    "The live database server is protect-ed in Pulumi and reachable only from its private network.",
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.server, (props, args, report) => {
    if (!isLiveServer(args.type, props)) return;
    if (args.opts.protect !== true)
      report(`${args.name}: the live server must be protect-ed (protect: true)`);
    const access = at(props, "network", "publicNetworkAccess");
    if (access !== "Disabled") {
      report(`${args.name}: network.publicNetworkAccess must be Disabled, got ${JSON.stringify(access)}`);
    }
  }),
};

export const serversEntraOnly: ResourceValidationPolicy = {
  name: "servers-entra-only",
  description:
    "Every PostgreSQL server (live, geo-restored, PTR copy) accepts Microsoft Entra logins only: no password, no administrator login.",
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.server, (props, args, report) => {
    const auth = {
      ad: at(props, "authConfig", "activeDirectoryAuth"),
      pw: at(props, "authConfig", "passwordAuth"),
    };
    if (auth.ad !== "Enabled" || auth.pw !== "Disabled")
      report(
        `${args.name}: authConfig must be { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" }, got ${JSON.stringify({ activeDirectoryAuth: auth.ad, passwordAuth: auth.pw })}`,
      );
    for (const key of ["administratorLogin", "administratorLoginPassword"]) {
      if (props[key] !== undefined) report(`${args.name}: ${key} must not be set (Entra logins only)`);
    }
  }),
};

export const backupRetention: ResourceValidationPolicy = {
  name: "backup-retention-at-least-7-days",
  description: `The live server keeps its point-in-time backups at least ${MIN_BACKUP_RETENTION_DAYS} days.`,
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.server, (props, args, report) => {
    if (!isLiveServer(args.type, props)) return;
    const days = at(props, "backup", "backupRetentionDays");
    if (typeof days !== "number" || days < MIN_BACKUP_RETENTION_DAYS) {
      report(
        `${args.name}: backup.backupRetentionDays must be at least ${MIN_BACKUP_RETENTION_DAYS}, got ${JSON.stringify(days)}`,
      );
    }
  }),
};

const GEO_SKUS = ["Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"];

export const geoRedundantInProduction: ResourceValidationPolicy = {
  name: "geo-redundant-backup-in-production",
  description:
    "In production the live server's backups are geo-redundant and so is the backup storage account (config: production).",
  enforcementLevel: "mandatory",
  configSchema: PRODUCTION_SCHEMA,
  validateResource: (args, report) => {
    const props = args.props as Props;
    if (!args.getConfig<GeoConfig>().production) return;
    if (isLiveServer(args.type, props) && at(props, "backup", "geoRedundantBackup") !== "Enabled") {
      report(
        `${args.name}: production needs backup.geoRedundantBackup Enabled (postgres.geoRedundantBackup=true)`,
      );
    }
    if (isBackupAccount(args.type, props)) {
      const sku = at(props, "sku", "name");
      if (typeof sku !== "string" || !GEO_SKUS.includes(sku)) {
        report(
          `${args.name}: production needs a geo-redundant sku (${GEO_SKUS.join(", ")}), got ${JSON.stringify(sku)}`,
        );
      }
    }
  },
};

export const backupsLockedInProduction: ResourceValidationPolicy = {
  name: "backups-locked-in-production",
  description:
    "In production the backup account's time-based immutability policy is Locked: its retention can only grow, nobody can remove it (config: production).",
  enforcementLevel: "mandatory",
  configSchema: PRODUCTION_SCHEMA,
  validateResource: (args, report) => {
    const props = args.props as Props;
    if (!args.getConfig<GeoConfig>().production || !isBackupAccount(args.type, props)) return;
    const state = at(props, "immutableStorageWithVersioning", "immutabilityPolicy", "state");
    if (state !== "Locked")
      report(
        `${args.name}: production needs immutableStorageWithVersioning.immutabilityPolicy.state Locked (backup.immutability=locked), got ${JSON.stringify(state)}`,
      );
  },
};

const BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs";
/**
 * The only permissions a role definition the program declares may grant: the nightly backup's data actions
 * (plan/identity.ts NIGHTLY_DATA_ACTIONS: read, write, add). Written out here (a second opinion, not a copy of
 * the program's value; a test checks they agree): anything else — delete, move, deleteBlobVersion,
 * permanentDelete, immutableStorage, tags, any management action (container delete or write, user delegation
 * key, locks, role assignments), any wildcard — is refused.
 */
export const ALLOWED_DATA_ACTIONS: readonly string[] = [
  `${BLOBS}/read`,
  `${BLOBS}/write`,
  `${BLOBS}/add/action`,
];
/**
 * The condition the nightly identity's assignment must carry, exactly (plan/identity.ts nightlyWriteCondition
 * of `nightly/`; a test checks they agree): no delete or move, no Set Blob Tier, writes only under `nightly/`.
 */
export const NIGHTLY_CONDITION = conditionWritingUnder(["nightly/"]);

/** The condition of a nightly-identity assignment that writes only under `prefixes` (no delete, move or tier). */
function conditionWritingUnder(prefixes: readonly string[]): string {
  const under = prefixes.map((p) => `@Resource[${BLOBS}:path] StringLike '${p}*'`).join(" OR ");
  return (
    `((!(ActionMatches{'${BLOBS}/delete'}) AND !(ActionMatches{'${BLOBS}/move/action'}))) AND ` +
    `((!(ActionMatches{'${BLOBS}/write'} AND SubOperationMatches{'Blob.Write.Tier'}))) AND ` +
    `((!(ActionMatches{'${BLOBS}/write'}) AND !(ActionMatches{'${BLOBS}/add/action'})) OR ` +
    `(${under}))`
  );
}

/**
 * The conditions a nightly-identity assignment may carry: the standing one (`nightly/`), or, while a drill is
 * declared, the drill inspection's (its evidence under `drill/` and `incident/<drill id>/`, plan/drill.ts).
 */
function nightlyConditionAllowed(condition: unknown): boolean {
  if (condition === NIGHTLY_CONDITION) return true;
  const drill = /StringLike 'incident\/(drill-\d{8}-\d{4})\/\*'/.exec(String(condition))?.[1];
  return drill !== undefined && condition === conditionWritingUnder(["drill/", `incident/${drill}/`]);
}

/** What a declared role definition grants beyond ALLOWED_DATA_ACTIONS (every action, and foreign data actions). */
function roleDefinitionProblems(def: PolicyResource): string[] {
  const permissions = at(def.props, "permissions");
  if (!Array.isArray(permissions) || permissions.length === 0) return ["no permissions listed"];
  const listed = (p: unknown, key: string): unknown[] => {
    const v = at(p, key);
    return Array.isArray(v) ? v : [];
  };
  const problems: string[] = [];
  for (const p of permissions) {
    for (const a of listed(p, "actions")) problems.push(`grants the management action ${String(a)}`);
    for (const a of listed(p, "dataActions"))
      if (typeof a !== "string" || !ALLOWED_DATA_ACTIONS.includes(a))
        problems.push(`grants the data action ${String(a)}`);
  }
  return problems;
}

/** The GUID at the end of a role definition id, lowercased; undefined while unknown. */
function roleGuid(id: unknown): string | undefined {
  return typeof id === "string" ? id.slice(id.lastIndexOf("/") + 1).toLowerCase() : undefined;
}

/** The declared role definition an assignment names (by where its id came from, or by its GUID). */
function definitionOf(ra: PolicyResource, defs: readonly PolicyResource[]): PolicyResource | undefined {
  const guid = roleGuid(ra.props.roleDefinitionId);
  return defs.find(
    (d) => cameFrom(ra, "roleDefinitionId", d) || (guid !== undefined && roleGuid(d.props.name) === guid),
  );
}

export const noRoleCanEraseBackups: StackValidationPolicy = {
  name: "no-role-can-erase-backups",
  description: `Every role assignment gives a blob-data role (${Object.values(ALLOWED_ROLES).join(", ")}) or a role definition the program declares; every declared role definition grants only blob read, write and add (no delete, immutability, lock, tier, user delegation key or management action); the nightly identity's assignment gives such a declared role with its condition (writes only under nightly/, no tier).`,
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const defs = args.resources.filter((r) => r.type === TYPES.roleDefinition);
    for (const d of defs)
      for (const problem of roleDefinitionProblems(d)) report(`${d.name}: ${problem}`, d.urn);
    const nightly = identitiesTagged(args.resources, IDENTITY_TAGS.nightly);
    for (const ra of args.resources.filter((r) => r.type === TYPES.roleAssignment)) {
      const def = definitionOf(ra, defs);
      const builtIn = ALLOWED_ROLES[roleGuid(ra.props.roleDefinitionId) ?? ""];
      if (def === undefined && builtIn === undefined)
        report(
          `${ra.name}: roleDefinitionId must be one of ${Object.entries(ALLOWED_ROLES)
            .map(([g, n]) => `${n} (${g})`)
            .join(
              ", ",
            )} or a role definition this program declares, got ${JSON.stringify(ra.props.roleDefinitionId)}`,
          ra.urn,
        );
      // The nightly identity's assignment: its principalId came from that identity (the offline plan records
      // dependencies per resource only, and an assignment depends on nothing else that is an identity).
      const ofNightly = (id: PolicyResource): boolean =>
        cameFrom(ra, "principalId", id) || ra.dependencies.some((d) => d.urn === id.urn);
      if (nightly.some(ofNightly)) nightlyAssignmentProblems(ra, def, report);
    }
  },
};

/** The standing (nightly) assignment: the declared custom role, with its condition exactly. */
function nightlyAssignmentProblems(
  ra: PolicyResource,
  def: PolicyResource | undefined,
  report: ReportViolation,
): void {
  if (def === undefined)
    report(
      `${ra.name}: the nightly identity's role must be the custom role the program declares (blob read, write, add), got ${JSON.stringify(ra.props.roleDefinitionId)}`,
      ra.urn,
    );
  if (!nightlyConditionAllowed(ra.props.condition) || ra.props.conditionVersion !== "2.0")
    report(
      `${ra.name}: the nightly identity's assignment must carry the condition ${NIGHTLY_CONDITION} (version 2.0), got ${JSON.stringify(ra.props.condition)} (version ${JSON.stringify(ra.props.conditionVersion)})`,
      ra.urn,
    );
}

export const storagePrivate: ResourceValidationPolicy = {
  name: "backup-storage-private",
  description:
    "The backup account: no public blobs, HTTPS with TLS 1.2, no shared-key access; containers private.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const props = args.props as Props;
    if (isBackupAccount(args.type, props)) {
      const expect: Array<[string, unknown]> = [
        ["allowBlobPublicAccess", false],
        ["enableHttpsTrafficOnly", true],
        ["minimumTlsVersion", "TLS1_2"],
        ["allowSharedKeyAccess", false],
      ];
      for (const [key, value] of expect) {
        if (props[key] !== value)
          report(`${args.name}: ${key} must be ${JSON.stringify(value)}, got ${JSON.stringify(props[key])}`);
      }
    }
    if (args.type === TYPES.container && props.publicAccess !== "None") {
      report(`${args.name}: publicAccess must be "None", got ${JSON.stringify(props.publicAccess)}`);
    }
  },
};

/** Whether `r`'s input `prop` came from `target` (the engine's propertyDependencies; outputs lack the input). */
function cameFrom(r: PolicyResource, prop: string, target: PolicyResource): boolean {
  return (r.propertyDependencies[prop] ?? []).some((d) => d.urn === target.urn);
}
/** Whether `r`'s `prop` is `target`'s id: by value once both are known, otherwise by where the value came from. */
function refersTo(r: PolicyResource, target: PolicyResource, prop: string): boolean {
  const value = r.props[prop] as unknown;
  const id = target.props.id as unknown;
  if (typeof value === "string" && typeof id === "string") return value === id;
  return cameFrom(r, prop, target);
}

export const backupsImmutable: StackValidationPolicy = {
  name: "backups-cannot-be-erased",
  description:
    "Each backup account: versioning and soft delete, an account-level immutability policy for exactly the retention of its lifecycle rule (no container-level policy overriding it), version-level immutability on its containers, a CanNotDelete lock.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const of = (type: string) => args.resources.filter((r) => r.type === type);
    for (const account of of(TYPES.account).filter((r) => isBackupAccount(r.type, r.props as Props))) {
      const onAccount = (r: PolicyResource): boolean => cameFrom(r, "accountName", account);
      const service = of(TYPES.blobService).find(onAccount);
      if (service === undefined) {
        report(
          `${account.name}: no BlobServiceProperties (versioning, soft delete) for this account`,
          account.urn,
        );
      } else {
        if (service.props.isVersioningEnabled !== true)
          report(`${service.name}: isVersioningEnabled must be true`, service.urn);
        for (const key of ["deleteRetentionPolicy", "containerDeleteRetentionPolicy"]) {
          if (at(service.props, key, "enabled") !== true)
            report(`${service.name}: ${key}.enabled must be true (soft delete)`, service.urn);
        }
      }
      const lifecycleDays = of(TYPES.lifecycle)
        .filter(onAccount)
        .flatMap((l) => (at(l.props, "policy", "rules") as unknown[] | undefined) ?? [])
        .map((rule) =>
          at(rule, "definition", "actions", "baseBlob", "delete", "daysAfterModificationGreaterThan"),
        )
        .filter((d): d is number => typeof d === "number");
      checkAccountImmutability(account, lifecycleDays, report);
      for (const container of of(TYPES.container).filter(onAccount)) {
        if (at(container.props, "immutableStorageWithVersioning", "enabled") !== true)
          report(`${container.name}: immutableStorageWithVersioning.enabled must be true`, container.urn);
        // A container's own policy takes precedence over the account's (and a container policy is locked only
        // by a POST the program cannot declare): none may be declared.
        for (const policy of of(TYPES.immutability).filter(
          (p) => onAccount(p) && cameFrom(p, "containerName", container),
        ))
          report(
            `${policy.name}: a container-level immutability policy overrides the account's; declare the retention on the account only`,
            policy.urn,
          );
      }
      const locked = of(TYPES.lock).some(
        (l) => l.props.level === "CanNotDelete" && refersTo(l, account, "scope"),
      );
      if (!locked)
        report(`${account.name}: no CanNotDelete management lock on the backup account`, account.urn);
    }
    for (const server of of(TYPES.server).filter((r) => isLiveServer(r.type, r.props as Props))) {
      const locked = of(TYPES.lock).some(
        (l) => l.props.level === "CanNotDelete" && refersTo(l, server, "scope"),
      );
      if (!locked) report(`${server.name}: no CanNotDelete management lock on the live server`, server.urn);
    }
  },
};

/**
 * The backup account's own time-based policy (the one every blob version inherits): version-level
 * immutability enabled, not Disabled, at least the minimum and exactly the lifecycle's retention.
 */
function checkAccountImmutability(
  account: PolicyResource,
  lifecycleDays: number[],
  report: ReportViolation,
): void {
  const worm = at(account.props, "immutableStorageWithVersioning");
  const days = at(worm, "immutabilityPolicy", "immutabilityPeriodSinceCreationInDays");
  const state = at(worm, "immutabilityPolicy", "state");
  if (
    at(worm, "enabled") !== true ||
    typeof days !== "number" ||
    (state !== "Locked" && state !== "Unlocked")
  ) {
    report(
      `${account.name}: no account-level time-based immutability policy (immutableStorageWithVersioning: enabled, immutabilityPolicy Unlocked or Locked with a period)`,
      account.urn,
    );
    return;
  }
  if (days < MIN_BACKUP_RETENTION_DAYS)
    report(
      `${account.name}: immutability ${days} days is shorter than ${MIN_BACKUP_RETENTION_DAYS}`,
      account.urn,
    );
  for (const d of lifecycleDays) {
    // The lifecycle deletes at "older than d days": it must never try before immutability ends, and
    // immutability must cover the whole retention.
    if (d !== days)
      report(
        `${account.name}: immutability ${days} days differs from the lifecycle retention ${d} days (must be equal: at least the retention, and the rule must not delete immutable blobs)`,
        account.urn,
      );
  }
}

/** Keys or values that are storage credentials. */
const STORAGE_KEY_NAME =
  /^(AZURE_STORAGE_(KEY|CONNECTION_STRING|SAS_TOKEN)|AccountKey|accountKey|connectionString)$/;
const STORAGE_KEY_VALUE = /AccountKey=|SharedAccessSignature=|[?&]sig=/;

export const noStorageKeySecret: ResourceValidationPolicy = {
  name: "no-secret-with-a-storage-key",
  description: "No Kubernetes Secret carries a storage account key, connection string or SAS.",
  enforcementLevel: "mandatory",
  validateResource: onType(TYPES.secret, (props, args, report) => {
    for (const field of ["stringData", "data"]) {
      const entries = props[field];
      if (entries === null || typeof entries !== "object") continue;
      for (const [key, value] of Object.entries(entries as Props)) {
        const text = typeof value === "string" ? (field === "data" ? decode(value) : value) : "";
        if (STORAGE_KEY_NAME.test(key) || STORAGE_KEY_VALUE.test(text)) {
          report(
            `${args.name}: ${field}.${key} is a storage credential; the data tool uses its managed identity`,
          );
        }
      }
    }
  }),
};

function decode(b64: string): string {
  return Buffer.from(b64, "base64").toString("utf8");
}

interface Container {
  readonly name?: string;
  readonly image?: unknown;
  readonly securityContext?: Props;
  readonly resources?: { readonly limits?: Props };
}

export const podsHardened: ResourceValidationPolicy = {
  name: "pods-non-root-read-only",
  description:
    "Every pod and container runs as non-root, with a read-only root filesystem, no privilege escalation, and cpu and memory limits.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const template = POD_TEMPLATES[args.type]?.(args.props as Props);
    if (template === undefined) return;
    const podContext = (at(template, "spec", "securityContext") ?? {}) as Props;
    for (const c of containersOf(template)) {
      const ctx = c.securityContext ?? {};
      const where = `${args.name}: container ${c.name ?? "?"}`;
      if ((ctx.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
        report(`${where} must set runAsNonRoot: true`);
      const uid = ctx.runAsUser ?? podContext.runAsUser;
      if (uid === 0) report(`${where} runs as uid 0`);
      if (ctx.readOnlyRootFilesystem !== true) report(`${where} must set readOnlyRootFilesystem: true`);
      if (ctx.allowPrivilegeEscalation !== false) report(`${where} must set allowPrivilegeEscalation: false`);
      for (const r of ["cpu", "memory"]) {
        if (c.resources?.limits?.[r] === undefined) report(`${where} has no ${r} limit`);
      }
    }
  },
};

/** A pod template's init containers and containers. */
function containersOf(template: unknown): Container[] {
  const pod = (at(template, "spec") ?? {}) as Props;
  return [
    ...((pod.initContainers as Container[] | undefined) ?? []),
    ...((pod.containers as Container[] | undefined) ?? []),
  ];
}

/**
 * The labels that make a pod the data tool's: its runbook step (packages/dr-data/src/contract.ts STEP_LABEL) or
 * the workload identity webhook's opt-in (plan-identity.ts WORKLOAD_IDENTITY_LABEL), which hands the pod the
 * identity's Entra tokens. Written out here (the pack imports no program module); a test checks they agree.
 */
export const DATA_TOOL_POD_LABELS = {
  step: "service-dr/step",
  workloadIdentity: "azure.workload.identity/use",
} as const;

/** Whether a pod's labels make it the data tool's: it runs a step, or it receives the workload identity. */
function isDataToolPod(labels: unknown): boolean {
  const l = (labels ?? {}) as Props;
  return l[DATA_TOOL_POD_LABELS.step] !== undefined || l[DATA_TOOL_POD_LABELS.workloadIdentity] === "true";
}

export const dataToolImageByDigest: ResourceValidationPolicy = {
  name: "data-tool-image-by-digest",
  description:
    "Every pod that runs a data tool step or receives the workload identity runs the project's published image by digest (data-tool-image.ts): not a tag, not another registry path, not the unpublished placeholder.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const template = POD_TEMPLATES[args.type]?.(args.props as Props);
    if (template === undefined) return;
    if (!isDataToolPod(at(template, "metadata", "labels"))) return;
    for (const c of containersOf(template)) {
      const where = `${args.name}: container ${c.name ?? "?"}`;
      const image = typeof c.image === "string" ? c.image : "";
      const problem = dataToolImageProblem(image);
      if (problem !== undefined) report(`${where}: image ${problem}; received ${JSON.stringify(c.image)}`);
      else if (isUnpublishedImage(image))
        report(
          `${where}: image ${image} is the placeholder of an image not published yet; run the release-image workflow and merge the pull request it opens (it sets the published digest as dataTool.image)`,
        );
    }
  },
};

/** The ports the data tool's pods may use: DNS, HTTPS (storage, Entra), PostgreSQL. */
export const DATA_EGRESS_PORTS: readonly number[] = [53, 443, 5432];

/** Whether every `selector` label is among `labels`. */
function selects(selector: unknown, labels: unknown): boolean {
  if (selector === null || typeof selector !== "object") return false;
  const l = (labels ?? {}) as Props;
  return Object.entries(selector as Props).every(([k, v]) => l[k] === v);
}

/** What is wrong with one NetworkPolicy for the data pods: ingress allowed, an egress rule too wide. */
function dataPolicyProblems(np: PolicyResource): string[] {
  const spec = (at(np.props, "spec") ?? {}) as Props;
  const types = (spec.policyTypes as unknown[] | undefined) ?? [];
  const problems: string[] = [];
  if (!types.includes("Ingress") || !types.includes("Egress"))
    problems.push(`policyTypes must include Ingress and Egress, got ${JSON.stringify(types)}`);
  if (((spec.ingress as unknown[] | undefined) ?? []).length > 0) problems.push("ingress must be empty");
  for (const rule of (spec.egress as Props[] | undefined) ?? []) {
    const ports = ((rule.ports as Props[] | undefined) ?? []).map((p) => p.port);
    if (rule.to === undefined || ports.length === 0)
      problems.push(`an egress rule allows every ${rule.to === undefined ? "destination" : "port"}`);
    const wide = ports.filter((p) => typeof p !== "number" || !DATA_EGRESS_PORTS.includes(p));
    if (wide.length > 0)
      problems.push(`egress port ${JSON.stringify(wide)} is not one of ${DATA_EGRESS_PORTS.join(", ")}`);
  }
  return problems;
}

export const dataPodsNetworkLimited: StackValidationPolicy = {
  name: "data-pods-network-limited",
  description:
    "The data tool's pods (nightly backup, recovery Jobs, troubleshooting pod) are selected by a NetworkPolicy of their namespace: no ingress, egress only to DNS, HTTPS and PostgreSQL ports.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const policies = args.resources.filter((r) => r.type === TYPES.networkPolicy);
    const used = new Set<PolicyResource>();
    for (const r of args.resources) {
      const template = POD_TEMPLATES[r.type]?.(r.props as Props);
      const labels = at(template, "metadata", "labels") ?? at(r.props, "metadata", "labels");
      // Every pod that gets the identity's tokens or runs a step, not only those labelled part-of service-dr.
      if (template === undefined || !isDataToolPod(labels)) continue;
      const namespace = at(r.props, "metadata", "namespace");
      const mine = policies.filter(
        (np) =>
          at(np.props, "metadata", "namespace") === namespace &&
          selects(at(np.props, "spec", "podSelector", "matchLabels"), labels),
      );
      if (mine.length === 0)
        report(`${r.name}: a data tool pod that no NetworkPolicy of its namespace selects`, r.urn);
      for (const np of mine) used.add(np);
    }
    // Each selecting policy once, however many pods it selects.
    for (const np of used)
      for (const problem of dataPolicyProblems(np)) report(`${np.name}: ${problem}`, np.urn);
  },
};

/**
 * The data path's two identities (plan-identity.ts), by the `service-dr` tag of their managed identities:
 * `data-tool` is the nightly one (reads the database, writes only nightly dumps), `data-recovery` the one
 * that can restore into live (declared only while an incident is open). Written out here (the pack imports no
 * program module); a test checks they agree.
 */
export const IDENTITY_TAGS = { nightly: "data-tool", recovery: "data-recovery" } as const;
const IDENTITY_TYPE = "azure-native:managedidentity:UserAssignedIdentity";
const ENTRA_ADMIN_TYPE = "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra";
const SERVICE_ACCOUNT_TYPE = "kubernetes:core/v1:ServiceAccount";
const CRONJOB_TYPE = "kubernetes:batch/v1:CronJob";

/** The managed identities tagged `tag`. */
function identitiesTagged(resources: readonly PolicyResource[], tag: string): PolicyResource[] {
  return resources.filter((r) => r.type === IDENTITY_TYPE && at(r.props, "tags", "service-dr") === tag);
}
/** An identity's name: `name` in the engine's outputs, `resourceName` as declared. */
function identityNameOf(identity: PolicyResource): unknown {
  return at(identity.props, "name") ?? at(identity.props, "resourceName");
}

export const nightlyNeverRecoveryIdentity: StackValidationPolicy = {
  name: "nightly-backup-never-runs-as-recovery",
  description:
    "The nightly backup CronJob never runs as the recovery identity's ServiceAccount (the one that can restore into live): it runs as the read-only nightly identity.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const recovery = identitiesTagged(args.resources, IDENTITY_TAGS.recovery);
    // A recovery ServiceAccount: annotated with a recovery identity's client id, or named as one.
    const accounts = args.resources.filter(
      (r) =>
        r.type === SERVICE_ACCOUNT_TYPE &&
        recovery.some(
          (id) => cameFrom(r, "metadata", id) || at(r.props, "metadata", "name") === identityNameOf(id),
        ),
    );
    for (const cron of args.resources.filter((r) => r.type === CRONJOB_TYPE)) {
      const sa = at(cron.props, "spec", "jobTemplate", "spec", "template", "spec", "serviceAccountName");
      const ns = at(cron.props, "metadata", "namespace");
      const hit = accounts.find(
        (a) => at(a.props, "metadata", "name") === sa && at(a.props, "metadata", "namespace") === ns,
      );
      if (hit !== undefined)
        report(
          `${cron.name}: a CronJob runs as ServiceAccount ${String(sa)}, the recovery identity's; the nightly backup runs as the nightly identity's`,
          cron.urn,
        );
    }
  },
};

export const nightlyIdentityNeverAdministrator: StackValidationPolicy = {
  name: "nightly-identity-never-administrator",
  description:
    "The nightly identity is never a Microsoft Entra administrator of a server: only the recovery identity (while an incident is open) and the administrators group are.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const nightly = identitiesTagged(args.resources, IDENTITY_TAGS.nightly);
    for (const admin of args.resources.filter((r) => r.type === ENTRA_ADMIN_TYPE)) {
      const objectId = at(admin.props, "objectId");
      const principalName = at(admin.props, "principalName");
      const id = nightly.find(
        (n) =>
          cameFrom(admin, "objectId", n) ||
          (typeof objectId === "string" && objectId === at(n.props, "principalId")) ||
          (principalName !== undefined && principalName === identityNameOf(n)),
      );
      if (id !== undefined)
        report(
          `${admin.name}: the nightly identity ${String(identityNameOf(id))} is made an Entra administrator; only the recovery identity may be one, while an incident is open`,
          admin.urn,
        );
    }
  },
};

const ACTION_GROUP_TYPE = "azure-native:monitor:ActionGroup";
const LOG_ALERT_TYPE = "azure-native:monitor:ScheduledQueryRule";
/** The `service-dr` tag of each alert rule (plan/monitoring.ts `purpose`), and what it guards. */
export const ALERT_RULE_TAGS = {
  "nightly-backup-missing": "no verified nightly backup (the dead man's switch)",
  "data-tool-job-failed": "a failed backup or recovery Job",
} as const;

/** Every receiver of an action group, whatever its kind (`emailReceivers`, `webhookReceivers`, …). */
function receiverCount(group: PolicyResource): number {
  return Object.entries(group.props)
    .filter(([key, value]) => key.endsWith("Receivers") && Array.isArray(value))
    .reduce((n, [, value]) => n + (value as unknown[]).length, 0);
}

/** Whether `rule` fires to `group`: its action group id, or (a first preview, ids unknown) a dependency on it. */
function firesTo(rule: PolicyResource, group: PolicyResource): boolean {
  const ids = at(rule.props, "actions", "actionGroups");
  const id = group.props.id as unknown;
  if (Array.isArray(ids) && typeof id === "string" && ids.includes(id)) return true;
  return rule.dependencies.some((d) => d.urn === group.urn);
}

export const alertsInProduction: StackValidationPolicy = {
  name: "alerts-in-production",
  description:
    "In production on-call is told: an action group with at least one receiver, and the log alert rules for no verified nightly backup and for a failed backup or recovery Job, each firing to it (config: production).",
  enforcementLevel: "mandatory",
  configSchema: PRODUCTION_SCHEMA,
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    if (!args.getConfig<GeoConfig>().production) return;
    const groups = args.resources.filter((r) => r.type === ACTION_GROUP_TYPE && receiverCount(r) > 0);
    if (groups.length === 0)
      report(
        'production needs an action group with at least one receiver: set alerts (workspaceId, emails or webhooks; docs/runbook.md, "Alerts")',
      );
    for (const [purpose, what] of Object.entries(ALERT_RULE_TAGS)) {
      const rules = args.resources.filter(
        (r) => r.type === LOG_ALERT_TYPE && at(r.props, "tags", "service-dr") === purpose,
      );
      if (!rules.some((rule) => groups.some((g) => firesTo(rule, g))))
        report(
          `production needs the alert rule for ${what} (tag service-dr: ${purpose}) firing to an action group with a receiver: set alerts (docs/runbook.md, "Alerts")`,
        );
    }
  },
};

/**
 * The scheduled drill's resources (components/drill/): its copy is the server tagged `drill-copy`, its Jobs
 * carry `service-dr/step: drill-<step>`. Written out here (the pack imports no program module).
 */
export const DRILL_COPY_TAG = "drill-copy";
export const DRILL_STEP_PREFIX = "drill-";
const JOB_TYPE = "kubernetes:batch/v1:Job";
const STEP_LABEL = "service-dr/step";

/** A server's name: `name` in the engine's outputs, `serverName` as declared. */
function serverNameOf(server: PolicyResource): unknown {
  return at(server.props, "name") ?? at(server.props, "serverName");
}
const drillStep = (job: PolicyResource): unknown => at(job.props, "metadata", "labels", STEP_LABEL);

export const drillCopyNeverLive: StackValidationPolicy = {
  name: "drill-copy-never-live",
  description:
    "A drill's copy has a name of its own, never a live server's: a drill can never declare, hold or delete live.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const servers = args.resources.filter((r) => r.type === TYPES.server);
    const live = new Set(servers.filter((r) => tag(r.props) === "live").map(serverNameOf));
    for (const copy of servers.filter((r) => tag(r.props) === DRILL_COPY_TAG)) {
      const name = serverNameOf(copy);
      if (live.has(name))
        report(
          `${copy.name}: the drill's copy is named ${JSON.stringify(name)}, a live server's name`,
          copy.urn,
        );
    }
  },
};

/**
 * The data tool's commands that never write to a PostgreSQL server: `inspect` reads both sides in read-only
 * snapshot sessions (packages/dr-data/src/inspect.ts), `drill-report` reads and writes the blob store only. Any
 * other command, and a container that sets its own `command`, is taken as able to write.
 */
export const DRILL_READ_ONLY_COMMANDS: readonly string[] = ["inspect", "drill-report"];

/** One container of a drill Job as the policy reads it: its data tool command and what names a host. */
interface DrillContainer {
  readonly name: string;
  /** The data tool's subcommand (`args[0]`); null when the container sets its own `command`. */
  readonly command: string | null;
  /** `…HOST` variables (PGHOST, PTR_PGHOST, LIVE_PGHOST): name → literal value, or null when not literal. */
  readonly hosts: ReadonlyArray<readonly [string, string | null]>;
  /** Every literal env value and arg, where it is (`env PGHOST`, `args[3]`), for naming the live server. */
  readonly values: ReadonlyArray<readonly [string, string]>;
}

function drillContainers(job: PolicyResource): DrillContainer[] {
  return containersOf(at(job.props, "spec", "template")).map((c) => {
    const env = (Array.isArray(at(c, "env")) ? (at(c, "env") as unknown[]) : []).map(
      (e) => [String(at(e, "name")), at(e, "value")] as const,
    );
    const args = Array.isArray(at(c, "args")) ? (at(c, "args") as unknown[]).map(String) : [];
    const text = (v: unknown): string | null => (typeof v === "string" ? v : null);
    return {
      name: String(c.name),
      command: at(c, "command") === undefined ? (args[0] ?? null) : null,
      hosts: env.filter(([n]) => /HOST$/.test(n)).map(([n, v]) => [n, text(v)] as const),
      values: [
        ...env.flatMap(([n, v]) => (typeof v === "string" ? [[`env ${n}`, v] as const] : [])),
        ...args.map((a, i) => [`args[${i}]`, a] as const),
      ],
    };
  });
}

/** A host's server: its first DNS label (`<server>.postgres.database.azure.com`). */
const serverOfHost = (host: string): string => host.split(".")[0] ?? host;

/**
 * Whether a value names `server` as a place to connect to: as a host (`<server>.…`, alone or inside a URL or a
 * `host=` string) or as the whole value. A blob path such as `nightly/<server>` names its backups, not the server.
 */
function namesServer(value: string, server: string): boolean {
  return value === server || new RegExp(`(^|[^A-Za-z0-9-])${server.replace(/[.]/g, "\\.")}\\.`).test(value);
}

/** Why a container that can write breaks the rule, or []: it connects to the copy only and never names live. */
function writerProblems(c: DrillContainer, copies: readonly string[], live: readonly string[]): string[] {
  const what = `container ${c.name} (${c.command === null ? "its own command" : `dr-data ${c.command}`}) can write`;
  const hidden = c.hosts.filter(([, v]) => v === null).map(([n]) => n);
  const hosts = c.hosts.flatMap(([, v]) => (v === null ? [] : [v]));
  const elsewhere = hosts.filter((h) => !copies.includes(serverOfHost(h)) || live.includes(serverOfHost(h)));
  const naming = c.values.filter(([, v]) => live.some((server) => namesServer(v, server)));
  return [
    ...(hidden.length > 0
      ? [`${what}: ${hidden.join(", ")} must be a literal value the pack can check, got a reference`]
      : []),
    ...(hosts.length === 0 || elsewhere.length > 0
      ? [
          `${what}: it must connect only to the drill's copy (${copies.join(", ") || "none declared"}), got ${JSON.stringify(hosts)}`,
        ]
      : []),
    ...(naming.length > 0
      ? [
          `${what}: it must never name the live server (${live.join(", ")}): ${naming.map(([w, v]) => `${w} ${JSON.stringify(v)}`).join(", ")}`,
        ]
      : []),
  ];
}

/** Why a read-only inspection breaks the rule, or []: its copy side (`PTR_…HOST`) is the drill's copy. */
function inspectionProblems(c: DrillContainer, copies: readonly string[]): string[] {
  if (c.command !== "inspect") return [];
  const side = c.hosts.filter(([n]) => n.startsWith("PTR_")).map(([, v]) => v);
  const wrong = side.filter((h) => h === null || !copies.includes(serverOfHost(h)));
  return side.length === 0 || wrong.length > 0
    ? [
        `container ${c.name} (dr-data inspect): its copy side (PTR_…HOST) must be the drill's copy (${copies.join(", ") || "none declared"}), got ${JSON.stringify(side)}`,
      ]
    : [];
}

export const drillNeverRestoresLive: StackValidationPolicy = {
  name: "drill-never-restores-live",
  description:
    "No drill Job writes to a live server: every container that can write connects to the drill's copy only and never names live; the inspection reads its copy side from the copy.",
  enforcementLevel: "mandatory",
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    const servers = args.resources.filter((r) => r.type === TYPES.server);
    const copies = servers.filter((r) => tag(r.props) === DRILL_COPY_TAG).map((r) => String(serverNameOf(r)));
    const live = servers.filter((r) => tag(r.props) === "live").map((r) => String(serverNameOf(r)));
    const drillJobs = args.resources.filter(
      (r) => r.type === JOB_TYPE && String(drillStep(r)).startsWith(DRILL_STEP_PREFIX),
    );
    for (const job of drillJobs) {
      for (const c of drillContainers(job)) {
        const writes = c.command === null || !DRILL_READ_ONLY_COMMANDS.includes(c.command);
        const problems = writes ? writerProblems(c, copies, live) : inspectionProblems(c, copies);
        for (const p of problems) report(`${job.name}: ${p}`, job.urn);
      }
    }
  },
};

export const objectivesInProduction: StackValidationPolicy = {
  name: "drill-objectives-in-production",
  description:
    "In production every drill is measured against the service's objectives: its report Job carries --rpo-minutes and --rto-minutes (config: production).",
  enforcementLevel: "mandatory",
  configSchema: PRODUCTION_SCHEMA,
  validateStack: (args: StackValidationArgs, report: ReportViolation) => {
    if (!args.getConfig<GeoConfig>().production) return;
    for (const job of args.resources.filter(
      (r) => r.type === JOB_TYPE && drillStep(r) === `${DRILL_STEP_PREFIX}report`,
    )) {
      const containers = at(job.props, "spec", "template", "spec", "containers");
      const argv = Array.isArray(containers)
        ? containers.flatMap((c) => (Array.isArray(at(c, "args")) ? (at(c, "args") as unknown[]) : []))
        : [];
      const missing = ["--rpo-minutes", "--rto-minutes"].filter((f) => !argv.includes(f));
      if (missing.length > 0)
        report(
          `${job.name}: production needs the drill measured against objectives (objectives.rpoMinutes, objectives.rtoMinutes); missing ${missing.join(", ")}`,
          job.urn,
        );
    }
  },
};

/** The pack, in the order the report lists them. */
export const POLICIES: ReadonlyArray<ResourceValidationPolicy | StackValidationPolicy> = [
  liveServerProtected,
  serversEntraOnly,
  backupRetention,
  geoRedundantInProduction,
  backupsLockedInProduction,
  storagePrivate,
  backupsImmutable,
  noRoleCanEraseBackups,
  noStorageKeySecret,
  podsHardened,
  dataToolImageByDigest,
  dataPodsNetworkLimited,
  nightlyNeverRecoveryIdentity,
  nightlyIdentityNeverAdministrator,
  alertsInProduction,
  drillCopyNeverLive,
  drillNeverRestoresLive,
  objectivesInProduction,
];
