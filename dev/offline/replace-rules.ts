/**
 * Which input changes make the provider *replace* a resource rather than update it, as `pulumi preview --diff`
 * would mark them — the rules this program relies on, with where each comes from:
 *
 * - Kubernetes (API server validation): an object's `metadata.name`/`namespace` is its identity; a Job's
 *   `spec.template`, `spec.selector`, `spec.completions` and `spec.completionMode` are immutable; a
 *   Deployment's `spec.selector` is immutable (apps/v1); a Service's `spec.clusterIP` is immutable.
 *   pulumi-kubernetes replaces a ConfigMap on a `data`/`binaryData` change (and a Secret on `data`/`stringData`)
 *   unless the provider's enableConfigMapMutable/enableSecretMutable is set (this program does not set them).
 * - Azure (docs/provider-facts.md, "azure-native: `dbforpostgresql`"): a flexible server's `pointInTimeUTC`,
 *   `sourceServerResourceId`, `availabilityZone`, `administratorLogin` and `backup.geoRedundantBackup` are
 *   create-only, and an Entra administrator's `objectId` is its name in the ARM path (REST 2025-08-01
 *   `…/administrators/{objectId}`); for every azure-native resource the resource group, location and its top-level `…Name`
 *   inputs (the ARM path parameters) make up its id.
 * - GitHub: a branch protection's `repositoryId` forces a new rule (ForceNew in the provider's schema).
 * - The program's own resource options: `replaceOnChanges` (replace), `ignoreChanges` (the engine keeps the
 *   old value: no change at all), `deleteBeforeReplace` (the old one goes first).
 */

/** Why changing `path` replaces a resource of `type`, or undefined when it is an update. */
export function providerReplaceReason(type: string, path: string): string | undefined {
  const [pkg = "", module = "", resource = ""] = type.split(":");
  const top = path.split(/[.[]/)[0] ?? "";
  if (pkg === "kubernetes") {
    if (path === "metadata.name" || path === "metadata.namespace")
      return `${path} is the object's identity in Kubernetes`;
    const kind = `${module}:${resource}`;
    const immutable = KUBERNETES_IMMUTABLE[kind]?.find((p) => under(path, p));
    if (immutable !== undefined) return `${resource} ${immutable} is immutable in Kubernetes`;
    const replaced = PULUMI_KUBERNETES_REPLACED[kind]?.find((p) => under(path, p));
    if (replaced !== undefined)
      return `pulumi-kubernetes replaces a ${resource} when its ${replaced} changes`;
    return undefined;
  }
  if (pkg === "azure-native") {
    if (top === "resourceGroupName" || top === "location") return `${top} is part of the Azure resource id`;
    // azure-native's top-level `…Name` inputs are the ARM path parameters (serverName, accountName,
    // containerName, databaseName, …): the resource's id.
    if (top.endsWith("Name") && top === path) return `${top} is the Azure resource's name (part of its id)`;
    const createOnly = AZURE_CREATE_ONLY[`${module}:${resource}`]?.find((p) => under(path, p));
    if (createOnly !== undefined) return `${createOnly} is create-only in Azure`;
    return undefined;
  }
  if (type === "github:index/branchProtection:BranchProtection" && top === "repositoryId")
    return "repositoryId forces a new branch protection rule (GitHub provider)";
  return undefined;
}

const KUBERNETES_IMMUTABLE: Readonly<Record<string, readonly string[]>> = {
  "batch/v1:Job": ["spec.template", "spec.selector", "spec.completions", "spec.completionMode"],
  "apps/v1:Deployment": ["spec.selector"],
  "core/v1:Service": ["spec.clusterIP"],
};
const PULUMI_KUBERNETES_REPLACED: Readonly<Record<string, readonly string[]>> = {
  "core/v1:ConfigMap": ["data", "binaryData"],
  "core/v1:Secret": ["data", "stringData"],
};
const AZURE_CREATE_ONLY: Readonly<Record<string, readonly string[]>> = {
  "dbforpostgresql:Server": [
    "pointInTimeUTC",
    "sourceServerResourceId",
    "availabilityZone",
    "administratorLogin",
    "backup.geoRedundantBackup",
  ],
  // Account-level version-level immutability is set at the account's creation only.
  "storage:StorageAccount": ["immutableStorageWithVersioning.enabled"],
  // The principal's object id is the administrator's name in its ARM path (…/administrators/{objectId}).
  "dbforpostgresql:AdministratorsMicrosoftEntra": ["objectId"],
};

/** `path` is `prefix` or below it (`spec.template.spec` under `spec.template`; `spec.templates` is not). */
export function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}
