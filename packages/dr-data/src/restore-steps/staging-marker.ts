/**
 * What marks a restore's staging object as this tool's, of one run: the comment on the full restore's staging
 * database and on `restore --tables`' staging schema. A leftover is dropped only when its comment is the marker
 * of the same run, so a database or schema someone else named alike is never dropped.
 */

/** The staging object of each kind of restore. */
export type StagingKind = "database" | "schema";

const STAGING_WHAT: Readonly<Record<StagingKind, string>> = {
  database: "dr-data staging database",
  schema: "dr-data table-restore staging schema",
};

export function stagingMarker(kind: StagingKind, runId: string): string {
  return `${STAGING_WHAT[kind]} of run ${runId}`;
}
