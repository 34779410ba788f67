/**
 * What the drill records for its report besides the timeline: the row counts at each moment it shows, the
 * checks it made (in the order made), the substitutions a local Job needed, the backups the Jobs wrote.
 */
import type { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { countsOf, snapshot, type RowCounts, type Snapshot } from "./workload";

/** Row counts per table at the moments the report shows. */
export interface RowStage {
  readonly label: string;
  readonly counts: RowCounts;
}

export class Evidence {
  readonly stages: RowStage[] = [];
  readonly checks: string[] = [];
  readonly substitutions = new Set<string>();
  readonly storedBackups: string[] = [];

  /** The database's tables now, recorded under `label`. */
  async stage(label: string, pg: PgCluster, database: string): Promise<Snapshot> {
    const snap = await snapshot(pg.connection(database));
    this.stages.push({ label, counts: countsOf(snap) });
    return snap;
  }

  check(...lines: string[]): void {
    this.checks.push(...lines);
  }
}
