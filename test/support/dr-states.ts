/** Every state the runbook goes through, as `--set`s on a stack (plus the break-glass password login). */
import { geoRebuildSets, stackRaw } from "./stacks";

const PTR = ["drMode=ptr", "incidentId=inc-1", "ptr.restoreTime=2026-11-24T13:05:00"];

export const ALL_STATES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["none", []],
  ["ptr isolate", PTR],
  ["ptr restore", [...PTR, "drPhase=restore"]],
  ["ptr validate", [...PTR, "drPhase=validate"]],
  ["rebuild isolate", ["drMode=rebuild", "incidentId=inc-1"]],
  ["rebuild restore", ["drMode=rebuild", "incidentId=inc-1", "drPhase=restore"]],
  ["rebuild validate", ["drMode=rebuild", "incidentId=inc-1", "drPhase=validate"]],
  [
    "rebuild revive",
    ["drMode=rebuild", "incidentId=inc-1", "rebuild.from=revive", "rebuild.deletedAt=2026-11-24T18:30:00"],
  ],
  ["rebuild geo", geoRebuildSets("s189t01-ittms-stg-pg-geo", ["postgres.geoRedundantBackup=true"])],
  ["planned maintenance", ["maintenance=true", "freeze=true", "stopService=true"]],
];

/**
 * ALL_STATES for one stack of the fleet: the geo-restore's new server is named after the stack's own live
 * server (`<postgres.serverName>-geo`), as an operator would name it, so that no two stacks' states share a
 * server name.
 */
export function statesOf(stack: string): ReadonlyArray<readonly [string, readonly string[]]> {
  const postgres = stackRaw(stack).postgres as { serverName: string };
  return ALL_STATES.map(([state, sets]) =>
    state === "rebuild geo"
      ? [state, geoRebuildSets(`${postgres.serverName}-geo`, ["postgres.geoRedundantBackup=true"])]
      : [state, sets],
  );
}
