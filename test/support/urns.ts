/**
 * URNs as the Pulumi engine computes them from what a program sends, and the engine's matching of a run's
 * resources against the resources of the state before it (aliases included), so that a move of resources
 * into a component is checked on what the program really registers.
 *
 * The mock runtime's own URNs are not the engine's: its `newUrn` (@pulumi/pulumi runtime/mocks.js) prefixes
 * only the parent's last type, where the engine prefixes the parent's whole type chain
 * (`urn:pulumi:<stack>::<project>::<parent chain>$<type>::<name>`; the root stack's type is never part of a
 * chain). So each registration request is recorded (type, name, parent, the alias specs the SDK sends: the
 * mock monitor supports aliasSpecs, like the engine) and the engine's URN is computed from it. The alias
 * rules are the engine's, pulumi/pulumi pkg/resource/deploy/step_generator.go (collapseAliasToUrn,
 * inheritedChildAlias, generateAliases, and the lookup of olds in generateSteps): docs/provider-facts.md.
 */
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";

/** An alias as the SDK put it in the registration request. */
export type SentAlias =
  | { readonly urn: string }
  | {
      readonly name: string;
      readonly type: string;
      readonly stack: string;
      readonly project: string;
      /** The mock runtime's URN of the former parent, or "". */
      readonly parentUrn: string;
      readonly noParent: boolean;
    };

/** One registration request, as sent. */
export interface Registration {
  readonly type: string;
  readonly name: string;
  /** The mock runtime's URN of the parent, or "" (a resource of the stack's root). */
  readonly parent: string;
  readonly aliases: readonly SentAlias[];
}

export function registrationOf(req: RegisterResourceRequest): Registration {
  return {
    type: req.getType(),
    name: req.getName(),
    parent: req.getParent(),
    aliases: req.getAliasesList().map((a): SentAlias => {
      const spec = a.getSpec();
      if (spec === undefined) return { urn: a.getUrn() };
      return {
        name: spec.getName(),
        type: spec.getType(),
        stack: spec.getStack(),
        project: spec.getProject(),
        parentUrn: spec.getParenturn(),
        noParent: spec.getNoparent(),
      };
    }),
  };
}

/** A resource as the engine sees it: its URN, its parent's, and its aliases with parents as engine URNs. */
export interface EngineResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly aliases: readonly SentAlias[];
}

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

/** The type chain of a URN (`a$b$c`). */
const chainOf = (urn: string): string => urn.split("::")[2] ?? "";
/** The name at the end of a URN. */
const nameOf = (urn: string): string => urn.split("::").slice(3).join("::");
/** The resource's own type, the last of its URN's chain. */
const typeOf = (urn: string): string => chainOf(urn).split("$").pop() ?? "";

/** The engine's resource.NewURN: the parent's chain, then the type. */
export function newUrn(
  stack: string,
  project: string,
  parentChain: string,
  type: string,
  name: string,
): string {
  const chain = parentChain === "" ? type : `${parentChain}$${type}`;
  return `urn:pulumi:${stack}::${project}::${chain}::${name}`;
}

/** The mock monitor's URN of a registration (runtime/mocks.js newUrn), to find parents by. */
function mockUrn(stack: string, project: string, r: Registration): string {
  const parentType = r.parent === "" ? "" : (chainOf(r.parent).split("$").pop() ?? "");
  return newUrn(stack, project, parentType, r.type, r.name);
}

/** Every registration with the engine's URN; parents (of resources and of aliases) as engine URNs. */
export function engineResources(
  stack: string,
  project: string,
  registrations: readonly Registration[],
): EngineResource[] {
  const byMockUrn = new Map<string, string>();
  const real = (mock: string): string => {
    if (mock === "") return "";
    const found = byMockUrn.get(mock);
    if (found === undefined) throw new Error(`parent ${mock} registered after its child, or never`);
    return found;
  };
  return registrations.map((r) => {
    const parent = real(r.parent);
    const urn = newUrn(stack, project, parent === "" ? "" : chainOf(parent), r.type, r.name);
    const mock = mockUrn(stack, project, r);
    if (byMockUrn.has(mock)) throw new Error(`two registrations share the mock URN ${mock}`);
    byMockUrn.set(mock, urn);
    const aliases = r.aliases.map((a) => ("urn" in a ? a : { ...a, parentUrn: real(a.parentUrn) }));
    return { urn, type: r.type, name: r.name, parent, aliases };
  });
}

/** What the engine makes of a run against the state before it. */
export interface Matching {
  /** Each new resource's URN → the old URN it took over (itself when unchanged), or absent: a create. */
  readonly took: ReadonlyMap<string, string>;
  /** Old URNs no new resource took: the engine would delete them. */
  readonly deleted: readonly string[];
  /** Old URNs two new resources claimed (the engine refuses the run). */
  readonly claimedTwice: readonly string[];
}

/** The engine's step generation, as far as it finds each new resource's old state (URN first, then aliases). */
export function matchAgainst(olds: readonly string[], resources: readonly EngineResource[]): Matching {
  const old = new Set(olds);
  const took = new Map<string, string>();
  const claimed = new Map<string, string>();
  const claimedTwice: string[] = [];
  // The engine's sg.aliases: a resource found under an alias → that alias (its children inherit it).
  const aliasOf = new Map<string, string>();
  for (const r of resources) {
    const match = [r.urn, ...generateAliases(r, aliasOf)].find((u) => old.has(u));
    if (match === undefined) continue;
    if (claimed.has(match)) claimedTwice.push(match);
    claimed.set(match, r.urn);
    took.set(r.urn, match);
    if (match !== r.urn) aliasOf.set(r.urn, match);
  }
  return { took, deleted: olds.filter((u) => !claimed.has(u)), claimedTwice };
}

/** step_generator.go generateAliases: the resource's own aliases, then its parent's multiplied out. */
export function generateAliases(r: EngineResource, aliasOf: ReadonlyMap<string, string>): string[] {
  const stackProject = r.urn.split("::").slice(0, 2);
  const out = new Set<string>();
  for (const a of r.aliases) out.add(collapse(r, a, aliasOf));
  const parentAlias = r.parent === "" ? undefined : aliasOf.get(r.parent);
  if (parentAlias !== undefined) {
    const parentName = nameOf(r.parent);
    out.add(inheritedChildAlias(stackProject, r.type, r.name, parentName, parentAlias));
    for (const a of r.aliases) {
      const child = collapse(r, a, aliasOf);
      out.add(inheritedChildAlias(stackProject, typeOf(child), nameOf(child), parentName, parentAlias));
    }
  }
  return [...out];
}

/** step_generator.go collapseAliasToUrn. */
function collapse(r: EngineResource, a: SentAlias, aliasOf: ReadonlyMap<string, string>): string {
  if ("urn" in a) return a.urn;
  let parent = a.parentUrn === "" ? r.parent : (aliasOf.get(a.parentUrn) ?? a.parentUrn);
  if (a.noParent || (parent !== "" && typeOf(parent) === ROOT_STACK_TYPE)) parent = "";
  const [, stack = "", project = ""] = /^urn:pulumi:([^:]*)::([^:]*)::/.exec(r.urn) ?? [];
  return newUrn(
    a.stack === "" ? stack : a.stack,
    a.project === "" ? project : a.project,
    parent === "" ? "" : chainOf(parent),
    a.type === "" ? r.type : a.type,
    a.name === "" ? r.name : a.name,
  );
}

/** step_generator.go inheritedChildAlias: a child named `<parent>-x` follows a renamed parent. */
function inheritedChildAlias(
  stackProject: readonly string[],
  childType: string,
  childName: string,
  parentName: string,
  parentAlias: string,
): string {
  const aliasName = childName.startsWith(parentName)
    ? nameOf(parentAlias) + childName.slice(parentName.length)
    : childName;
  const [prefix = "", project = ""] = stackProject;
  const stack = prefix.replace(/^urn:pulumi:/, "");
  return newUrn(stack, project, chainOf(parentAlias), childType, aliasName);
}
