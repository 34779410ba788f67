/**
 * The incident: what drMode, drPhase, incidentId, incidentDeclaredAt, ptr and rebuild add up to, as one union
 * the plan switches on. It is built from the schema's output and the times the rules resolved (context.ts), so
 * the plan reads each mode's fields without checking them again.
 */
import type { DateTime } from "luxon";
import type { ResolvedTime } from "../plan/time";
import type { DrPhase, Network, Parsed } from "./schema";
import type { RuleContext } from "./context";

/**
 * Where a rebuild's server comes from (`rebuild.from`), with exactly what that source needs: validation has
 * proved the fields of the chosen one, so the plan reads them without checking again.
 */
export type RebuildSource =
  /** An empty server; the nightly dump `backupBlob` (`latest` or a blob name) is restored into it. */
  | { readonly from: "backup"; readonly backupBlob: string }
  /** The dropped server revived (ReviveDropped) to its deletion time, checked to be within Azure's 5 days. */
  | { readonly from: "revive"; readonly deletedAt: ResolvedTime }
  /** A new server `serverName` GeoRestored into the paired region `location`, on that region's network. */
  | {
      readonly from: "geo";
      readonly serverName: string;
      readonly location: string;
      readonly network: Network;
    };

/** `drMode=ptr`: the data is lost, the server is not; the PTR copy is made at `restoreTime`. */
export interface PtrIncident {
  readonly mode: "ptr";
  readonly id: string;
  readonly phase: DrPhase;
  /** Unset only in the isolate phase, before the operator chose the restore point (required after it). */
  readonly restoreTime: ResolvedTime | undefined;
  /** The pin (`ptr.requestedAt`, valid for this restore time): the instant the window was checked at. */
  readonly requestedAt: DateTime | undefined;
  /** `incidentDeclaredAt`: where the report's RTO starts; unset, the tool starts it at the first Job. */
  readonly declaredAt: ResolvedTime | undefined;
}

/** `drMode=rebuild`: the server is lost and comes back from `source`. */
export interface RebuildIncident {
  readonly mode: "rebuild";
  readonly id: string;
  readonly phase: DrPhase;
  readonly source: RebuildSource;
  /** `incidentDeclaredAt`: where the report's RTO starts; unset, the tool starts it at the first Job. */
  readonly declaredAt: ResolvedTime | undefined;
}

/**
 * The incident as validation proved it: `drMode` with what that mode requires (the id, the restore point, the
 * rebuild's source), built once by parseConfig. The plan switches on `mode` (and a rebuild on `source.from`)
 * and never re-checks a key; a new variant fails to compile where a switch ends in `unreachable`.
 */
export type Incident = { readonly mode: "none" } | PtrIncident | RebuildIncident;

/** The end of an exhaustive switch: a variant nobody handles is a compile error here, and a throw at run time. */
export function unreachable(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}

/**
 * The incident of a config the schema accepted, with the times the rules resolved; undefined when a key it
 * needs is missing, which a rule reports (incidentIdRequired, reviveDeletedAt, geoRules).
 */
export function incidentOf(data: Parsed, ctx: RuleContext): Incident | undefined {
  const { drMode: mode, drPhase: phase, incidentId: id } = data;
  if (mode === "none") return { mode };
  if (id === undefined) return undefined;
  const declaredAt = ctx.declared.value;
  switch (mode) {
    case "ptr":
      return { mode, id, phase, restoreTime: ctx.restore.value, requestedAt: ctx.pin.value, declaredAt };
    case "rebuild": {
      const source = rebuildSource(data.rebuild, ctx);
      return source === undefined ? undefined : { mode, id, phase, source, declaredAt };
    }
    default:
      return unreachable(mode);
  }
}

/** The one place `rebuild.from` (default backup) becomes a source; without a `rebuild` key, the defaults. */
function rebuildSource(rebuild: Parsed["rebuild"], ctx: RuleContext): RebuildSource | undefined {
  const from = rebuild?.from ?? "backup";
  switch (from) {
    case "backup":
      return { from, backupBlob: rebuild?.backupBlob ?? "latest" };
    case "revive": {
      const deletedAt = ctx.deleted.value;
      return deletedAt === undefined ? undefined : { from, deletedAt };
    }
    case "geo": {
      const { serverName, location, network } = rebuild ?? {};
      return serverName === undefined || location === undefined || network === undefined
        ? undefined
        : { from, serverName, location, network };
    }
    default:
      return unreachable(from);
  }
}
