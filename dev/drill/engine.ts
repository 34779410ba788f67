/**
 * The drill's stand-in for the Pulumi engine, pulumi-kubernetes and the API server, for the replica patches
 * only (DeploymentPatch, server-side apply, every patch forcing). It keeps what decides whether a `pulumi up`
 * stops or starts the app — each patch's stored inputs and live snapshot (the Pulumi state), and each
 * Deployment's fields with their field managers — and does with them what the sources do
 * (docs/provider-facts.md, "Patch resources"):
 *
 * - create (a name not in the state): the declared inputs, applied with force by a new field manager;
 * - otherwise the engine first puts the stored value back on each `ignoreChanges` path, the provider diffs
 *   that against the stored live object pruned to the stored inputs' shape (ignored paths dropped), and an
 *   update re-applies with force — each ignored path sent as its live value, or left out when only other
 *   managers own it;
 * - `pulumi refresh`: the stored inputs and live snapshot become the live values, shaped like the inputs;
 * - a patch no longer declared is deleted after everything else of the `up`: its manager gives up its fields;
 *   a field nobody owns any more is removed (`spec.replicas` then defaults to 1).
 */
import { effectiveInputs, flatten, isUnder, splitPath } from "../offline/diff";

/** One declared DeploymentPatch, as the drill reads it from the program. */
export interface PatchDeclaration {
  readonly resource: string;
  readonly deployment: string;
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly ignoreChanges: readonly string[];
}

export type PatchOperation = "create" | "update" | "same";

interface LiveField {
  value: unknown;
  owners: Set<string>;
}

interface StoredPatch {
  readonly deployment: string;
  readonly manager: string;
  inputs: Record<string, unknown>;
  /** The live object's fields as the last create, update or refresh returned them. */
  live: Map<string, unknown>;
}

/** Set by the patch's identity, never applied as a field. */
const IDENTITY = new Set(["apiVersion", "kind", "metadata.name", "metadata.namespace"]);
const REPLICAS = "spec.replicas";
/** What the API server defaults a Deployment's `spec.replicas` to when no manager owns it. */
const DEFAULT_REPLICAS = 1;

/** The leaves of a patch's inputs that it applies (its identity aside). */
function fields(inputs: Readonly<Record<string, unknown>>): Map<string, unknown> {
  return new Map([...flatten(inputs)].filter(([path]) => !IDENTITY.has(path)));
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class SimulatedCluster {
  private readonly deployments = new Map<string, Map<string, LiveField>>();
  private readonly state = new Map<string, StoredPatch>();
  private managers = 0;

  /** A Deployment's `spec.replicas`, undefined when no patch ever touched it. */
  replicas(deployment: string): number | undefined {
    const v = this.deployments.get(deployment)?.get(REPLICAS)?.value;
    return typeof v === "number" ? v : undefined;
  }

  /** The inputs the state holds for a patch (what the next diff starts from). */
  storedInputs(resource: string): Readonly<Record<string, unknown>> | undefined {
    return this.state.get(resource)?.inputs;
  }

  /** One declared patch in a `pulumi up`: what the engine and the provider do with it. */
  register(p: PatchDeclaration): PatchOperation {
    const old = this.state.get(p.resource);
    if (old === undefined) {
      const manager = `${p.resource}#${++this.managers}`;
      this.apply(p.deployment, manager, fields(p.inputs));
      this.state.set(p.resource, {
        deployment: p.deployment,
        manager,
        inputs: structuredClone(p.inputs),
        live: this.snapshot(p.deployment),
      });
      return "create";
    }
    const news = effectiveInputs(old.inputs, p.inputs, p.ignoreChanges);
    const changed = this.diff(old, news, p.ignoreChanges);
    old.inputs = news;
    if (!changed) return "same";
    this.apply(p.deployment, old.manager, this.withIgnoredFromLive(old, fields(news), p.ignoreChanges));
    old.live = this.snapshot(p.deployment);
    return "update";
  }

  /** The deletes at the end of a `pulumi up`: each patch not declared gives up its fields. */
  deleteUndeclared(declared: ReadonlySet<string>): string[] {
    const deleted: string[] = [];
    for (const [resource, stored] of [...this.state]) {
      if (declared.has(resource)) continue;
      this.apply(stored.deployment, stored.manager, new Map());
      this.state.delete(resource);
      deleted.push(resource);
    }
    return deleted;
  }

  /** `pulumi refresh`: each patch's stored inputs become the live values, shaped like the stored inputs. */
  refresh(): void {
    for (const stored of this.state.values()) {
      const live = this.snapshot(stored.deployment);
      const inputs = structuredClone(stored.inputs);
      // A field gone from the live object is gone from the inputs too (pruneLiveState keeps what exists).
      for (const path of fields(stored.inputs).keys()) setPath(inputs, path, live.get(path));
      stored.inputs = inputs;
      stored.live = live;
    }
  }

  /** The provider's Diff: the new inputs against the stored live object pruned to the stored inputs. */
  private diff(old: StoredPatch, news: Record<string, unknown>, ignore: readonly string[]): boolean {
    const pruned = new Map([...fields(old.inputs).keys()].map((path) => [path, old.live.get(path)]));
    const now = fields(news);
    const paths = new Set([...pruned.keys(), ...now.keys()]);
    return [...paths].some(
      (path) => !ignore.some((i) => isUnder(path, i)) && !same(pruned.get(path), now.get(path)),
    );
  }

  /** The provider's update: an ignored path goes out as its live value, or not at all if others own it. */
  private withIgnoredFromLive(
    old: StoredPatch,
    apply: Map<string, unknown>,
    ignore: readonly string[],
  ): Map<string, unknown> {
    const live = this.deployments.get(old.deployment) ?? new Map<string, LiveField>();
    for (const path of [...apply.keys()].filter((p) => ignore.some((i) => isUnder(p, i)))) {
      const field = live.get(path);
      if (field === undefined) continue;
      if (field.owners.size > 0 && !field.owners.has(old.manager)) apply.delete(path);
      else apply.set(path, field.value);
    }
    return apply;
  }

  /**
   * A forced server-side apply by `manager`: an equal value adds it to the owners, a different one takes the
   * field; a field it owned and no longer sends is given up, and removed when nobody owns it any more.
   */
  private apply(deployment: string, manager: string, sent: ReadonlyMap<string, unknown>): void {
    const live = this.deployments.get(deployment) ?? new Map<string, LiveField>();
    this.deployments.set(deployment, live);
    for (const [path, field] of [...live]) {
      if (sent.has(path) || !field.owners.delete(manager) || field.owners.size > 0) continue;
      if (path === REPLICAS) live.set(path, { value: DEFAULT_REPLICAS, owners: new Set() });
      else live.delete(path);
    }
    for (const [path, value] of sent) {
      const field = live.get(path);
      if (field !== undefined && same(field.value, value)) field.owners.add(manager);
      else live.set(path, { value, owners: new Set([manager]) });
    }
  }

  private snapshot(deployment: string): Map<string, unknown> {
    const live = this.deployments.get(deployment) ?? new Map<string, LiveField>();
    return new Map([...live].map(([path, f]) => [path, f.value]));
  }
}

/** A resource of one `pulumi up` for inDependencyOrder: its name, what it waits for, what it does. */
export interface UpNode {
  readonly resource: string;
  readonly dependsOn: readonly string[];
  readonly run: () => Promise<void>;
}

/** One at a time, each after everything it depends on among the nodes (the engine's order, serialised). */
export async function inDependencyOrder(nodes: readonly UpNode[]): Promise<void> {
  const names = new Set(nodes.map((n) => n.resource));
  const done = new Set<string>();
  while (done.size < nodes.length) {
    const next = nodes.find(
      (n) => !done.has(n.resource) && n.dependsOn.every((dep) => !names.has(dep) || done.has(dep)),
    );
    if (next === undefined) throw new Error("the declared patches and Jobs wait for each other (a cycle)");
    await next.run();
    done.add(next.resource);
  }
}

/** Sets (or, with undefined, removes) a leaf found by `flatten`; a patch's inputs are plain objects. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = splitPath(path).map(String);
  let into = target;
  for (const part of parts.slice(0, -1)) into = into[part] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete into[last];
  else into[last] = value;
}
