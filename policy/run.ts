/**
 * Runs the pack's policies without the Pulumi engine, on resources as the engine hands them over (the offline
 * plan's declarations, or resources written by hand in the unit tests). The engine gives the two kinds of
 * policy different views (pulumi/pkg/resource/deploy/step_generator.go, docs/provider-facts.md):
 *
 * - a resource policy (`validateResource`, the engine's Analyze) sees the resource's **inputs**;
 * - a stack policy (`validateStack`, AnalyzeStack) sees each resource's **outputs** ("AnalyzeStack is called
 *   on the final outputs of each resource"): an input the provider does not return (azure-native's path
 *   parameters such as `accountName`, `containerName`, a lock's `scope`) is absent; `name` is the physical
 *   name; `propertyDependencies` says which resources each input came from.
 *
 * So this runner strips the input-only keys (INPUT_ONLY, checked against the SDK's declared outputs by
 * test/policy.test.ts) before a stack policy runs, and gives it `propertyDependencies`: the declared ones, or,
 * for the offline plan (whose mock records dependencies per resource, not per input), the dependencies whose
 * id or physical name is the input's value — the value that flowed from them. Ids stay unknown (a first
 * preview). What the engine does with a mandatory violation — fail the preview or up — is stood in for by the
 * returned list.
 */
import type {
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { policyConfigFile } from "./config-file";
import { POLICIES, TYPES } from "./policies";

export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly options: {
    readonly protect?: boolean;
    readonly ignoreChanges?: readonly string[];
    readonly deleteBeforeReplace?: boolean;
    /** Names of the resources this one depends on. */
    readonly dependencies?: readonly string[];
    /** Input key → names of the resources its value came from (the engine's propertyDependencies). */
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  };
  /** The resource's id when the plan knows it (never shown to a policy: a first preview has none). */
  readonly id?: string | undefined;
}

/**
 * azure-native inputs the provider does not return as outputs (its path parameters, write-only fields), per
 * type a stack policy reads, and the input that becomes the `name` output. Other types: inputs as they are.
 */
export const INPUT_ONLY: Readonly<
  Record<string, { readonly keys: readonly string[]; readonly name: string }>
> = {
  [TYPES.server]: {
    keys: ["administratorLoginPassword", "createMode", "pointInTimeUTC", "resourceGroupName", "serverName"],
    name: "serverName",
  },
  [TYPES.account]: { keys: ["accountName", "resourceGroupName"], name: "accountName" },
  [TYPES.blobService]: {
    keys: ["accountName", "blobServicesName", "resourceGroupName"],
    name: "blobServicesName",
  },
  [TYPES.container]: { keys: ["accountName", "containerName", "resourceGroupName"], name: "containerName" },
  [TYPES.immutability]: {
    keys: ["accountName", "containerName", "immutabilityPolicyName", "resourceGroupName"],
    name: "immutabilityPolicyName",
  },
  [TYPES.lifecycle]: {
    keys: ["accountName", "managementPolicyName", "resourceGroupName"],
    name: "managementPolicyName",
  },
  [TYPES.lock]: { keys: ["lockName", "scope"], name: "lockName" },
  [TYPES.roleDefinition]: { keys: ["roleDefinitionId", "scope"], name: "roleDefinitionId" },
  [TYPES.roleAssignment]: { keys: ["roleAssignmentName"], name: "roleAssignmentName" },
};

/** A resource's outputs as a stack policy sees them: input-only keys gone, the physical name as `name`. */
export function outputsOf(r: DeclaredResource): Record<string, unknown> {
  const spec = INPUT_ONLY[r.type];
  if (spec === undefined) return { ...r.inputs };
  const out = Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !spec.keys.includes(k)));
  const name = r.inputs[spec.name];
  return name === undefined ? out : { ...out, name };
}

export interface Violation {
  readonly policy: string;
  readonly message: string;
}

/** Policy config as `--policy-pack-config` gives it: `{ "<policy name>": { …} }`. */
export type PackConfig = Readonly<Record<string, Record<string, unknown>>>;

/** The pack config of `environment` (policy/config/<environment>.json), as the workflows pass it. */
export function readPackConfig(projectDir: string, environment: string): PackConfig {
  return JSON.parse(readFileSync(path.join(projectDir, policyConfigFile(environment)), "utf8")) as PackConfig;
}

const urnOf = (r: DeclaredResource): string => `urn:pulumi:stack::service-dr::${r.type}::${r.name}`;

function options(r: DeclaredResource): PolicyResourceOptions {
  return {
    protect: r.options.protect === true,
    ignoreChanges: [...(r.options.ignoreChanges ?? [])],
    deleteBeforeReplace: r.options.deleteBeforeReplace,
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}

function isTypeOf(type: string) {
  return (cls: { __pulumiType?: string }): boolean => cls.__pulumiType === type;
}

/** Input key → the dependencies its value came from: declared, or (the offline plan) matched by value. */
function propertyDependencyNames(
  r: DeclaredResource,
  byName: ReadonlyMap<string, DeclaredResource>,
): Record<string, readonly string[]> {
  if (r.options.propertyDependencies !== undefined) return { ...r.options.propertyDependencies };
  const deps = (r.options.dependencies ?? []).flatMap((n) => {
    const d = byName.get(n);
    return d === undefined ? [] : [d];
  });
  const out: Record<string, readonly string[]> = {};
  for (const [key, value] of Object.entries(r.inputs)) {
    if (typeof value !== "string") continue;
    const from = deps.filter((d) => d.id === value || outputsOf(d).name === value).map((d) => d.name);
    if (from.length > 0) out[key] = from;
  }
  return out;
}

/** The resources as the engine hands them to policies: `view` picks inputs (resource) or outputs (stack). */
function policyResources(
  declared: readonly DeclaredResource[],
  view: (r: DeclaredResource) => Record<string, unknown>,
): PolicyResource[] {
  const declaredByName = new Map(declared.map((r) => [r.name, r]));
  const byName = new Map<string, PolicyResource>();
  const out = declared.map((r) => {
    const props = view(r);
    const p = {
      type: r.type,
      props,
      urn: urnOf(r),
      name: r.name,
      opts: options(r),
      dependencies: [] as PolicyResource[],
      propertyDependencies: {} as Record<string, PolicyResource[]>,
      isType: isTypeOf(r.type),
      asType: () => props,
    } as unknown as PolicyResource;
    byName.set(r.name, p);
    return p;
  });
  const resolve = (names: readonly string[]): PolicyResource[] =>
    names.flatMap((n) => {
      const d = byName.get(n);
      return d === undefined ? [] : [d];
    });
  declared.forEach((r, i) => {
    const p = out[i]!;
    p.dependencies.push(...resolve(r.options.dependencies ?? []));
    for (const [key, names] of Object.entries(propertyDependencyNames(r, declaredByName)))
      p.propertyDependencies[key] = resolve(names);
  });
  return out;
}

/** Every violation of every policy of the pack (or of `policies`) on these resources. */
export async function runPolicies(
  declared: readonly DeclaredResource[],
  config: PackConfig,
  policies: ReadonlyArray<ResourceValidationPolicy | StackValidationPolicy> = POLICIES,
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const inputs = policyResources(declared, (r) => ({ ...r.inputs }));
  const outputs = policyResources(declared, outputsOf);
  for (const policy of policies) {
    const report = (message: string): void => {
      violations.push({ policy: policy.name, message });
    };
    const getConfig = <T extends object>(): T => {
      const c = config[policy.name];
      const required = (policy.configSchema?.required ?? []).filter((k) => c?.[k] === undefined);
      if (required.length > 0) {
        throw new Error(`policy ${policy.name}: config ${required.join(", ")} is required`);
      }
      return (c ?? {}) as T;
    };
    if ("validateStack" in policy) {
      const args = {
        resources: outputs,
        stackTags: new Map(),
        getConfig,
        notApplicable: notApplicable,
      } as unknown as StackValidationArgs;
      await policy.validateStack(args, report);
      continue;
    }
    const validations = policy.validateResource === undefined ? [] : [policy.validateResource].flat();
    for (const r of inputs) {
      const args: ResourceValidationArgs = {
        type: r.type,
        props: r.props,
        urn: r.urn,
        name: r.name,
        opts: r.opts,
        stackTags: new Map(),
        isType: isTypeOf(r.type) as ResourceValidationArgs["isType"],
        asType: (() => r.props) as ResourceValidationArgs["asType"],
        getConfig,
        notApplicable,
      };
      for (const v of validations) await v(args, report);
    }
  }
  return violations;
}

function notApplicable(reason?: string): never {
  throw new Error(`not applicable${reason === undefined ? "" : `: ${reason}`}`);
}
