/**
 * The help text `dr-data --help` prints and a usage error follows with. Every flag of the contract
 * (contract.ts) must appear in it (test/contract.test.ts checks).
 */

/** The look-before-you-restore commands and the table-level forms of restore and compare. */
const REPORTS_USAGE = `  drill-report --container C --server S --database D --started-at ISO --step NAME=JOB [--step NAME=JOB]...
           --rpo-minutes N --rto-minutes N [--json]
  incident-report --container C --incident ID [--declared-at ISO] [--restore-time ISO] [--time-zone ZONE]
           [--rpo-minutes N] [--rto-minutes N] [--json]`;

const INCIDENT_USAGE = `  inspect  --container C --incident ID [--ptr-database D] [--live-database D] [--jobs N] [--samples N]
           [--restore-time ISO] [--all]
  reconcile --container C --incident ID [--ptr-database D] [--live-database D] [--jobs N] [--restore-time ISO]
  restore  --tables s.t[,s.t…] --container C --blob NAME|latest [--prefix P] --run-id ID [--database D]
           [--source-database D] [--maintenance-database postgres] [--work-dir DIR] [--allow-unverified]
  restore  --from-copy --container C --prefix P --run-id ID [--source-server NAME] [--database D] [--jobs N]
           [--no-acl] [--analyze] [--setting name=value]... [--maintenance-database postgres] [--work-dir DIR]
           [--skip-missing-roles]
  compare  --tables s.t[,s.t…] [--run-id ID] [--left-database D] [--right-database D] [--jobs N] [--all]
  compare  --tables s.t[,s.t…] --run-id ID --container C [--database D] [--jobs N]

  pg-token   prints a Microsoft Entra access token for Azure Database for PostgreSQL from the workload
             identity (DR_PG_AUTH=entra): the password psql-ptr / psql-live log in with

inspect/reconcile: PTR_PG* is the PTR copy, LIVE_PG* the live database (each falls back to PG*).
restore --from-copy (scenario 2's restore phase in one flow): dumps the copy (PTR_PG*, PTR_PGHOST required)
  into --work-dir and stores that dump under --prefix, with its manifest, as the restore's evidence; pg_restore
  reads the directory while the stored dump is read back and verified (as backup --verify); the staging
  database is checked against the manifest; the swap into the target (PG*, as any restore) waits for both;
  then the target is compared with the copy (exit 1 on a difference). A completed run id dumps nothing and
  only compares.`;

export const USAGE = `usage: dr-data <command> [flags]

commands:
  backup   --container C --prefix P [--database D] [--source-server NAME] [--format custom|directory]
           [--compress 0-9|none|gzip|lz4|zstd[:level]] [--stream-compress zstd:1-19|none] [--jobs N]
           [--block-size-mib N] [--upload-concurrency N] [--work-dir DIR] [--no-manifest] [--verify]
  restore  --container C --blob NAME|latest [--prefix P] --run-id ID [--database D] [--source-database D]
           [--jobs N] [--no-acl] [--analyze] [--setting name=value]... [--maintenance-database postgres]
           [--work-dir DIR] [--allow-unverified] [--skip-missing-roles]
  compare  [--left-database D] [--right-database D] [--jobs N] [--all]
  compare  --run-id ID [--container C] [--database D] [--jobs N] [--all]
  compare  --against-backup NAME|latest --container C [--prefix P] [--source-database D] [--database D]
           [--jobs N] [--all]
  list     --container C --prefix P [--database D]
  status   --container C --server S [--database D] [--max-age-hours N] [--now ISO-TIME] [--json]
${INCIDENT_USAGE}
${REPORTS_USAGE}

manifest: backup records each table's row count and checksum (and sequence values), taken in pg_dump's own
  snapshot, as <blob>.manifest.json (its sha256 in the dump's metadata); --no-manifest skips it. restore checks
  the staging database against it before the swap and refuses the swap on any difference. compare --run-id
  checks a database against the manifest of the backup that restore run restored (PG* is that database's
  server; the run's record names the container and blob); --against-backup names the backup instead.
  restore refuses a backup without a manifest unless --allow-unverified is given.

verification: backup --verify (the nightly CronJob's) reads the committed backup back from storage and checks
  it as a restore would (metadata, manifest, size, sha256, pg_restore --list, table of contents), then writes
  <blob>.status.json once beside it; a backup that does not verify exits 1 after its record says why.
  status shows, per database under nightly/<server>, the newest backup (age, size, verified, failed or
  unverified: no record), the newest verified one and the last drill report (drill/<server>/); it exits 0
  only when every newest backup verified and is younger than --max-age-hours (default 26), else 1 with why.

database-level properties: backup records the database's owner, privileges, ALTER DATABASE / ALTER ROLE …
  IN DATABASE settings, comment, encoding, locale and extensions in the manifest. restore onto a new database
  applies them (every role they name must exist, else it refuses before anything is touched;
  --skip-missing-roles skips what goes to missing roles); over an existing database the replaced database's
  are kept and differences from the backup's record are reported. compare reports database-level differences.

restore target: --database, else PGDATABASE (unless it names the maintenance database), else the backup's
  source database; when PGDATABASE picks a database other than the backup's source, the first line says so.
  The tool connects to the maintenance database (--maintenance-database, default postgres) for CREATE, RENAME
  and DROP DATABASE.

environment:
  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE      the server and database (backup: source; restore:
                                                           target, see "restore target")
  LEFT_PG* / RIGHT_PG*                                     compare's two sides (each falls back to PG*)
  DR_STORAGE_AUTH=entra|connection-string|shared-key         how the blob store is reached (unset: the one kind
                                                           present; two kinds refused): entra with
                                                           AZURE_STORAGE_ACCOUNT [or AZURE_STORAGE_BLOB_ENDPOINT];
                                                           AZURE_STORAGE_CONNECTION_STRING; or
                                                           AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY
  DR_PG_AUTH=password|entra                                PostgreSQL login: PGPASSWORD (default), or an Entra
                                                           access token fetched for every connection
  DR_DATA_LOG_CONTAINER + DR_DATA_LOG_BLOB [+ DR_DATA_DONE_BLOB]
                                                           a recovery Job's whole output kept as that blob; with
                                                           DONE, a step that already succeeded does nothing
  PG_BINDIR                                                where pg_dump/pg_restore are (default: PATH)
exit status: 0 ok, 1 failure or differences, 2 usage error`;
