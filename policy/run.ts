/**
 * Runs the pack's policies without the Pulumi engine, on resources as a preview would hand them over (the
 * offline plan's declarations, or resources written by hand in the unit tests): props are the declared
 * inputs, ids unknown (a first preview), dependencies by name. What the engine does with a mandatory
 * violation — fail the preview or up — is stood in for by the returned list.
 */
import type {
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { POLICIES } from "./policies";

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
  };
}

export interface Violation {
  readonly policy: string;
  readonly message: string;
}

/** Policy config as `--policy-pack-config` gives it: `{ "<policy name>": { …} }`. */
export type PackConfig = Readonly<Record<string, Record<string, unknown>>>;

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

function policyResources(declared: readonly DeclaredResource[]): PolicyResource[] {
  const byName = new Map<string, PolicyResource>();
  const out = declared.map((r) => {
    const p = {
      type: r.type,
      props: r.inputs,
      urn: urnOf(r),
      name: r.name,
      opts: options(r),
      dependencies: [] as PolicyResource[],
      propertyDependencies: {},
      isType: isTypeOf(r.type),
      asType: () => r.inputs,
    } as unknown as PolicyResource;
    byName.set(r.name, p);
    return p;
  });
  declared.forEach((r, i) => {
    out[i]!.dependencies.push(
      ...(r.options.dependencies ?? []).flatMap((n) => {
        const d = byName.get(n);
        return d === undefined ? [] : [d];
      }),
    );
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
  const resources = policyResources(declared);
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
        resources,
        stackTags: new Map(),
        getConfig,
        notApplicable: notApplicable,
      } as unknown as StackValidationArgs;
      await policy.validateStack(args, report);
      continue;
    }
    const validations = policy.validateResource === undefined ? [] : [policy.validateResource].flat();
    for (const r of resources) {
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
