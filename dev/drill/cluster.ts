/**
 * The app in the drill's simulated cluster: the Deployments the replica patches set, through engine.ts (which
 * does what the engine, the provider and the API server would: create, update with ignoreChanges, refresh,
 * delete), read and written the way a step's `pulumi up` and `pulumi refresh` do.
 */
import type { Declared, DeclaredPatch } from "./declared";
import { SimulatedCluster } from "./engine";
import type { StepRecord } from "./timeline";

/** `web`, `hold-j01d84ac746-web`: a patch's name after the component's `-replicas-`, for the report only. */
export function shortName(resource: string): string {
  return resource.replace(/^.*-replicas-/, "");
}

/** The app's own patches (not the hold's), by the role their annotations give them. */
function appPatches(d: Declared): DeclaredPatch[] {
  return d.patches.filter((p) => p.role === "app");
}

export class AppCluster {
  private readonly engine = new SimulatedCluster();

  replicas(deployment: string): number | undefined {
    return this.engine.replicas(deployment);
  }

  /** The app as it runs before the incident: the committed stack's patches applied. */
  start(d: Declared): void {
    for (const p of d.patches) this.engine.register(p);
  }

  /** `web 0, worker 0`: the app's Deployments now, by its own patches. */
  appState(d: Declared): string {
    return appPatches(d)
      .map((p) => `${shortName(p.resource)} ${this.replicas(p.deployment) ?? "?"}`)
      .join(", ");
  }

  /** The app's Deployments that do not run at the count their patches declare (`web 0 (declared 2)`). */
  appOffNormal(d: Declared): string | undefined {
    const off = appPatches(d).filter((p) => this.replicas(p.deployment) !== p.replicas);
    return off.length === 0
      ? undefined
      : off
          .map((p) => `${p.deployment} ${this.replicas(p.deployment) ?? "?"} (declared ${p.replicas})`)
          .join(", ");
  }

  /** `web 2` for every Deployment the patches set that runs at least one replica. */
  running(d: Declared): string[] {
    const deployments = [...new Set(d.patches.map((p) => p.deployment))];
    return deployments
      .filter((name) => (this.replicas(name) ?? 0) > 0)
      .map((name) => `${name} ${this.replicas(name) ?? "?"}`);
  }

  /** `pulumi refresh`: every patch's stored inputs become the live values (engine.ts). */
  refresh(s: StepRecord, d: Declared): void {
    s.commands.push("pulumi refresh");
    const before = this.appState(d);
    this.engine.refresh();
    s.notes.push(`app before the refresh: ${before}; after: ${this.appState(d)}`);
    for (const p of d.patches) {
      const stored = this.engine.storedInputs(p.resource);
      const replicas = (stored?.spec as { replicas?: unknown } | undefined)?.replicas;
      s.notes.push(
        `${shortName(p.resource)}: stored spec.replicas now ${String(replicas)} (declared ${p.replicas})`,
      );
    }
  }

  /** One patch of an `up`, created, updated or left alone as engine.ts decides; a scale goes into `events`. */
  patch(s: StepRecord, p: DeclaredPatch, events: string[]): void {
    const before = this.replicas(p.deployment);
    const op = this.engine.register(p);
    const after = this.replicas(p.deployment);
    if (op !== "same" && after !== before) {
      s.notes.push(`${p.resource} (${op}): ${p.deployment} scaled to ${after ?? "?"}`);
      events.push(`scale ${shortName(p.resource)} ${after ?? "?"}`);
    }
  }

  /** The engine deletes what is no longer declared after everything else of the `up` (engine.ts). */
  deleteUndeclared(s: StepRecord, d: Declared, events: string[]): void {
    const before = new Map(d.patches.map((p) => [p.deployment, this.replicas(p.deployment)]));
    const deleted = this.engine.deleteUndeclared(new Set(d.patches.map((p) => p.resource)));
    if (deleted.length > 0)
      s.notes.push(`deleted at the end of the up: ${deleted.map(shortName).join(", ")}`);
    for (const [deployment, was] of before) {
      const now = this.replicas(deployment);
      if (now === was) continue;
      s.notes.push(`a delete changed ${deployment}: ${was ?? "?"} → ${now ?? "?"}`);
      events.push(`scale ${deployment} ${now ?? "?"} (delete)`);
    }
  }
}
