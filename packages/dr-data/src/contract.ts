/**
 * The contract between the Pulumi program and the data tool: the argv of every command a Job runs, the
 * environment variable names of a connection, and the label that names a Job's runbook step. The program
 * builds argv and environment from here (plan-data.ts, components/data-tool-pod.ts), the tool parses them back
 * through the same definitions (each command's flags.ts under commands/, connection.ts), and the drill finds Jobs by the label,
 * so renaming a flag or a variable here renames it on both sides, and a rename of a field fails to compile
 * (or fails packages/dr-data/test/contract.test.ts, test/contract-plan.test.ts) instead of failing in production.
 *
 * Pure and free of Pulumi, pg and Azure: the program imports it through the package's entry (index.ts), so it
 * and what it imports (naming.ts, errors.ts, flags.ts) are part of the program for the workflows' path filters
 * (.github/scripts/affected-stacks.ts).
 */
import type { ParseArgsConfig } from "node:util";
import { UsageError } from "./errors";
import { parseFlags } from "./flags";
import { BLOB_PATH_RULE, blobPathProblem, JOB_STEPS, type JobStep } from "./naming";

// ---------------------------------------------------------------------------------------------------------
// Flags: one table per command, in the order the builders emit them.

/**
 * How one flag is written and read. `text` a string (`blobPath`: a blob name or prefix, checked against
 * naming.ts BLOB_PATH_RULE on both sides, so neither the program nor an operator can name a blob of another
 * container or outside a lifecycle prefix), `int` a whole number in [min, max], `choice` one of
 * `values`, `switch` a boolean flag present only when true, `list` a comma-separated list of strings,
 * `pairs` a repeated `name=value` flag.
 */
type FlagDef =
  | { readonly flag: string; readonly kind: "text"; readonly required?: true; readonly blobPath?: true }
  | { readonly flag: string; readonly kind: "int"; readonly min: number; readonly max: number }
  | { readonly flag: string; readonly kind: "choice"; readonly values: readonly string[] }
  | { readonly flag: string; readonly kind: "switch" }
  | { readonly flag: string; readonly kind: "list" }
  | { readonly flag: string; readonly kind: "pairs" };

/** A command's flags by option field; the key order is the argv order of the builders. */
export type CommandDef = Readonly<Record<string, FlagDef>>;

type ValueOf<D extends FlagDef> = D extends { kind: "text" }
  ? string
  : D extends { kind: "int" }
    ? number
    : D extends { kind: "choice"; values: readonly (infer V)[] }
      ? V
      : D extends { kind: "switch" }
        ? boolean
        : D extends { kind: "list" }
          ? readonly string[]
          : Readonly<Record<string, string>>;

type RequiredField<C extends CommandDef> = {
  [F in keyof C]: C[F] extends { required: true } ? F : never;
}[keyof C];

/** The typed options of a command: a field per flag, required where the flag is. */
export type OptionsOf<C extends CommandDef> = {
  readonly [F in RequiredField<C>]: ValueOf<C[F]>;
} & {
  readonly [F in Exclude<keyof C, RequiredField<C>>]?: ValueOf<C[F]> | undefined;
};

/**
 * `custom`: one file, streamed to stdout. `directory`: `pg_dump -j N` into a local directory, then packed with
 * tar. (pgargs.ts and metadata.ts check these values too.)
 */
export const DUMP_FORMATS = ["custom", "directory"] as const;
/** The parallelism every command accepts: pg_dump/pg_restore -j, checksum workers. */
const JOBS = { flag: "jobs", kind: "int", min: 1, max: 64 } as const;

export const BACKUP = {
  container: { flag: "container", kind: "text", required: true },
  prefix: { flag: "prefix", kind: "text", required: true, blobPath: true },
  /** Default: PGDATABASE. */
  database: { flag: "database", kind: "text" },
  /** Recorded in the blob's metadata (the server the dump came from). */
  sourceServer: { flag: "source-server", kind: "text" },
  format: { flag: "format", kind: "choice", values: DUMP_FORMATS },
  compress: { flag: "compress", kind: "text" },
  streamCompress: { flag: "stream-compress", kind: "text" },
  jobs: JOBS,
  blockSizeMib: { flag: "block-size-mib", kind: "int", min: 1, max: 4000 },
  uploadConcurrency: { flag: "upload-concurrency", kind: "int", min: 1, max: 64 },
  /** Where a directory dump is staged (the Job's scratch volume). */
  workDir: { flag: "work-dir", kind: "text" },
  noManifest: { flag: "no-manifest", kind: "switch" },
  /** Read the committed backup back from storage, check it as a restore would, write `<blob>.status.json`. */
  verify: { flag: "verify", kind: "switch" },
} as const satisfies CommandDef;

/**
 * `restore`, `restore --tables` and `restore --from-copy` share one table: the tool parses `restore` once,
 * `--tables` picks the table-level restore and `--from-copy` scenario 2's one flow; which flags go with which is
 * the tool's rule (commands/restore/flags.ts).
 */
export const RESTORE = {
  /** The table-level restore: only these `schema.table`s. */
  tables: { flag: "tables", kind: "list" },
  /**
   * Scenario 2's restore phase in one flow: dump the PTR copy (the `PTR_` connection) into `--work-dir`, store
   * that dump under `--prefix` as the evidence while pg_restore reads it, then compare with the copy.
   */
  fromCopy: { flag: "from-copy", kind: "switch" },
  container: { flag: "container", kind: "text", required: true },
  /** With `blob: "latest"`, the prefix to pick the newest backup under; with `fromCopy`, where the dump goes. */
  prefix: { flag: "prefix", kind: "text", blobPath: true },
  /** A blob name, or `latest`. Required unless `fromCopy` (the tool checks). */
  blob: { flag: "blob", kind: "text", blobPath: true },
  /** With `fromCopy`: recorded in the dump's metadata (the copy's server name). */
  sourceServer: { flag: "source-server", kind: "text" },
  sourceDatabase: { flag: "source-database", kind: "text" },
  database: { flag: "database", kind: "text" },
  /** The restore is idempotent by this id. */
  runId: { flag: "run-id", kind: "text", required: true },
  jobs: JOBS,
  noAcl: { flag: "no-acl", kind: "switch" },
  analyze: { flag: "analyze", kind: "switch" },
  settings: { flag: "setting", kind: "pairs" },
  /** Default `postgres`. */
  maintenanceDatabase: { flag: "maintenance-database", kind: "text" },
  workDir: { flag: "work-dir", kind: "text" },
  allowUnverified: { flag: "allow-unverified", kind: "switch" },
  skipMissingRoles: { flag: "skip-missing-roles", kind: "switch" },
} as const satisfies CommandDef;

/**
 * `compare` in all its forms (two databases, a restore run's manifest, a named backup, `--tables`): one
 * table, the combinations checked by the tool (commands/compare/flags.ts).
 */
export const COMPARE = {
  tables: { flag: "tables", kind: "list" },
  runId: { flag: "run-id", kind: "text" },
  againstBackup: { flag: "against-backup", kind: "text", blobPath: true },
  container: { flag: "container", kind: "text" },
  prefix: { flag: "prefix", kind: "text", blobPath: true },
  database: { flag: "database", kind: "text" },
  sourceDatabase: { flag: "source-database", kind: "text" },
  leftDatabase: { flag: "left-database", kind: "text" },
  rightDatabase: { flag: "right-database", kind: "text" },
  jobs: JOBS,
  all: { flag: "all", kind: "switch" },
} as const satisfies CommandDef;

/** The flags inspect and reconcile share: the incident's store and the two sides. */
const SIDES = {
  container: { flag: "container", kind: "text", required: true },
  incident: { flag: "incident", kind: "text", required: true },
  /** The PTR copy's restore point, an ISO 8601 instant with an offset. */
  restoreTime: { flag: "restore-time", kind: "text" },
  ptrDatabase: { flag: "ptr-database", kind: "text" },
  liveDatabase: { flag: "live-database", kind: "text" },
  jobs: JOBS,
} as const satisfies CommandDef;

export const INSPECT = {
  ...SIDES,
  samples: { flag: "samples", kind: "int", min: 0, max: 10_000 },
  all: { flag: "all", kind: "switch" },
} as const satisfies CommandDef;

export const RECONCILE = SIDES;

/** Not run by a Job, but parsed by the same means as the others. */
export const LIST = {
  container: { flag: "container", kind: "text", required: true },
  prefix: { flag: "prefix", kind: "text", required: true, blobPath: true },
  database: { flag: "database", kind: "text" },
} as const satisfies CommandDef;

/** `status`: not run by a Job; what an alert or an operator asks about the nightly backups of a server. */
export const STATUS = {
  container: { flag: "container", kind: "text", required: true },
  /** The live server: its nightly backups (`nightly/<server>`) and drill reports (`drill/<server>`), naming.ts. */
  server: { flag: "server", kind: "text", required: true },
  /** Only this database. Default: every database with a backup under the server's nightly prefix. */
  database: { flag: "database", kind: "text" },
  /** The newest backup must be younger than this. Default 26: a nightly schedule plus two hours of grace. */
  maxAgeHours: { flag: "max-age-hours", kind: "int", min: 1, max: 24 * 90 },
  /** The instant ages are measured from, ISO 8601 with an offset. Default the clock. */
  now: { flag: "now", kind: "text" },
  json: { flag: "json", kind: "switch" },
} as const satisfies CommandDef;

/** The objectives a drill or an incident is measured against (the service's `objectives`), in minutes. */
const OBJECTIVES = {
  /** The most data, in minutes of writes, a recovery may lose. */
  rpoMinutes: { flag: "rpo-minutes", kind: "int", min: 1, max: 60 * 24 * 90 },
  /** The longest a recovery may take, in minutes. */
  rtoMinutes: { flag: "rto-minutes", kind: "int", min: 1, max: 60 * 24 * 90 },
} as const satisfies CommandDef;

/**
 * `drill-report`: the drill's last Job. Reads the drill's step records (`drill/<server>/<stamp>/done|logs`,
 * naming.ts), measures RPO and RTO against the objectives and writes `drill/<server>/<stamp>/report.json` once.
 * `container`, `server`, `database`, `startedAt`, `steps` and both objectives are required (the tool checks).
 */
export const DRILL_REPORT = {
  container: { flag: "container", kind: "text", required: true },
  /** The live server the drill copied: its nightly backups and the drill's folder are named by it. */
  server: { flag: "server", kind: "text", required: true },
  /** The database whose newest verified nightly backup the drill restored (the RPO is its age). */
  database: { flag: "database", kind: "text", required: true },
  /** When the drill began (before the copy was created), ISO 8601 with an offset: the RTO's start. */
  startedAt: { flag: "started-at", kind: "text", required: true },
  /** `--step <name>=<job name>`, repeated, in the drill's order: each step's Job (its records in the folder). */
  steps: { flag: "step", kind: "pairs" },
  ...OBJECTIVES,
  json: { flag: "json", kind: "switch" },
} as const satisfies CommandDef;

/**
 * `incident-report`: the incident's report at close, from its Jobs' records and logs and its inspection and
 * reconciliation reports (`incident/<id>/…`), written once as `incident/<id>/report.json` and `.md`.
 */
export const INCIDENT_REPORT = {
  container: { flag: "container", kind: "text", required: true },
  incident: { flag: "incident", kind: "text", required: true },
  /** When the incident was declared (the RTO's start), ISO 8601 with an offset. Default: the first Job's start. */
  declaredAt: { flag: "declared-at", kind: "text" },
  /** The restore point, ISO 8601 with an offset. Default: the one the inspection or reconciliation report names. */
  restoreTime: { flag: "restore-time", kind: "text" },
  /** The stack's zone (IANA), the restore point and the timeline are shown in it beside UTC. Default UTC. */
  timeZone: { flag: "time-zone", kind: "text" },
  ...OBJECTIVES,
  json: { flag: "json", kind: "switch" },
} as const satisfies CommandDef;

/** Every command with flags, by its name on the command line. */
export const COMMAND_FLAGS = {
  backup: BACKUP,
  restore: RESTORE,
  compare: COMPARE,
  inspect: INSPECT,
  reconcile: RECONCILE,
  list: LIST,
  status: STATUS,
  "drill-report": DRILL_REPORT,
  "incident-report": INCIDENT_REPORT,
} as const;
export type Command = keyof typeof COMMAND_FLAGS;

export type BackupArgs = OptionsOf<typeof BACKUP>;
export type RestoreArgs = OptionsOf<typeof RESTORE>;
/**
 * `restore --tables` as the program builds it: the same command with `tables` required and without the flags
 * of a whole-database restore, which the tool refuses beside `--tables` (commands/restore/flags.ts).
 */
export type TableRestoreArgs = Omit<
  RestoreArgs,
  "tables" | "blob" | "fromCopy" | "sourceServer" | "jobs" | "noAcl" | "analyze" | "settings"
> & {
  readonly tables: readonly string[];
  readonly blob: string;
};
/**
 * `restore --from-copy` as the program builds it (scenario 2's whole-database restore): none of the flags that
 * name a stored backup or a table list, which the tool refuses beside `--from-copy`.
 */
export type CopyRestoreArgs = Omit<
  RestoreArgs,
  "tables" | "fromCopy" | "blob" | "sourceDatabase" | "allowUnverified" | "prefix"
> & {
  readonly fromCopy: true;
  readonly prefix: string;
};
export type CompareArgs = OptionsOf<typeof COMPARE>;
export type InspectArgs = OptionsOf<typeof INSPECT>;
export type ReconcileArgs = OptionsOf<typeof RECONCILE>;
export type ListArgs = OptionsOf<typeof LIST>;
export type StatusArgs = OptionsOf<typeof STATUS>;
export type DrillReportArgs = OptionsOf<typeof DRILL_REPORT>;
export type IncidentReportArgs = OptionsOf<typeof INCIDENT_REPORT>;

/** The runbook step each recovery Job's command is (the drill and the tests check argv[0] against it). */
export const STEP_COMMAND: Readonly<Record<JobStep, Command>> = {
  "backup-flawed": "backup",
  "backup-ptr": "backup",
  inspect: "inspect",
  reconcile: "reconcile",
  restore: "restore",
  compare: "compare",
  report: "incident-report",
};

/**
 * `--work-dir`, the one flag the drill rewrites (the pod's scratch volume → a local directory); backup and
 * restore spell it alike (test/contract.test.ts).
 */
export const WORK_DIR_FLAG = `--${BACKUP.workDir.flag}`;

// ---------------------------------------------------------------------------------------------------------
// Builders: typed options → argv, the command first (the image's entrypoint is the tool).

type Values = Readonly<Record<string, unknown>>;

function buildArgv(command: Command, def: CommandDef, opts: Values): string[] {
  const argv: string[] = [command];
  for (const [field, d] of Object.entries(def)) argv.push(...flagArgv(d, opts[field]));
  return argv;
}

/**
 * One option's flags: nothing when absent (or a switch that is false). `value` is typed by OptionsOf from the
 * same definition `d`, so each kind's cast below is the type the builder's caller was held to.
 */
function flagArgv(d: FlagDef, value: unknown): string[] {
  if (value === undefined) return [];
  const flag = `--${d.flag}`;
  switch (d.kind) {
    case "switch":
      return value === true ? [flag] : [];
    case "int":
      return [flag, (value as number).toString()];
    case "list":
      return [flag, (value as readonly string[]).join(",")];
    case "pairs":
      return Object.entries(value as Readonly<Record<string, string>>).flatMap(([k, v]) => [
        flag,
        `${k}=${v}`,
      ]);
    default:
      return [flag, blobPathFlag("", d, value as string)];
  }
}

/**
 * A `blobPath` flag's value, or a UsageError naming the flag, the rule and the value: a blob name from the
 * program or an operator is checked before anything is read or written.
 */
function blobPathFlag(command: string, d: FlagDef, value: string): string {
  if (d.kind !== "text" || d.blobPath !== true) return value;
  const problem = blobPathProblem(value);
  if (problem === undefined) return value;
  throw new UsageError(
    `${command === "" ? "" : `${command}: `}--${d.flag} must be a blob name or prefix (${BLOB_PATH_RULE}); ` +
      `${problem}: got ${JSON.stringify(value)}`,
  );
}

export const backupArgs = (opts: BackupArgs): string[] => buildArgv("backup", BACKUP, opts);
export const restoreArgs = (opts: RestoreArgs): string[] => buildArgv("restore", RESTORE, opts);
export const tableRestoreArgs = (opts: TableRestoreArgs): string[] => buildArgv("restore", RESTORE, opts);
export const copyRestoreArgs = (opts: CopyRestoreArgs): string[] => buildArgv("restore", RESTORE, opts);
export const compareArgs = (opts: CompareArgs): string[] => buildArgv("compare", COMPARE, opts);
export const inspectArgs = (opts: InspectArgs): string[] => buildArgv("inspect", INSPECT, opts);
export const reconcileArgs = (opts: ReconcileArgs): string[] => buildArgv("reconcile", RECONCILE, opts);
export const listArgs = (opts: ListArgs): string[] => buildArgv("list", LIST, opts);
export const statusArgs = (opts: StatusArgs): string[] => buildArgv("status", STATUS, opts);
export const drillReportArgs = (opts: DrillReportArgs): string[] =>
  buildArgv("drill-report", DRILL_REPORT, opts);
export const incidentReportArgs = (opts: IncidentReportArgs): string[] =>
  buildArgv("incident-report", INCIDENT_REPORT, opts);

// ---------------------------------------------------------------------------------------------------------
// Parsers: argv (after the command) → typed options, as the tool reads them. Usage errors exit 2.

type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

/** The `node:util` parseArgs table of a command's flags. */
export function parseArgsTable(def: CommandDef): ParseOptions {
  const table: ParseOptions = {};
  for (const d of Object.values(def)) {
    table[d.flag] =
      d.kind === "switch" ? { type: "boolean" } : { type: "string", multiple: d.kind === "pairs" };
  }
  return table;
}

function parseCommand<C extends CommandDef>(command: Command, def: C, args: readonly string[]): OptionsOf<C> {
  const raw = parseFlags(command, [...args], parseArgsTable(def)) as Readonly<Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const [field, d] of Object.entries(def)) {
    const value = readFlag(command, d, raw[d.flag]);
    if (value !== undefined) out[field] = value;
  }
  return out as OptionsOf<C>;
}

/** One parsed flag as its option's type; checks what argv alone can tell (required, ranges, choices). */
function readFlag(command: string, d: FlagDef, raw: unknown): unknown {
  switch (d.kind) {
    case "switch":
      return raw === true ? true : undefined;
    case "pairs":
      return settingsFlag(raw as string[] | undefined, `--${d.flag}`);
    case "int":
      return intFlag(d.flag, raw as string | undefined, d.min, d.max);
    case "choice":
      return choiceFlag(d.flag, raw as string | undefined, d.values);
    case "list":
      // split(",") and join(",") are inverses: the tool's own list check (parseTableList) sees the text as given.
      return raw === undefined ? undefined : (raw as string).split(",");
    default:
      if (d.required === true && (raw === undefined || raw === "")) {
        throw new UsageError(`${command}: --${d.flag} is required`);
      }
      return raw === undefined || raw === "" ? raw : blobPathFlag(command, d, raw as string);
  }
}

export const parseBackupArgs = (args: readonly string[]): BackupArgs => parseCommand("backup", BACKUP, args);
export const parseRestoreArgs = (args: readonly string[]): RestoreArgs =>
  parseCommand("restore", RESTORE, args);
export const parseCompareArgs = (args: readonly string[]): CompareArgs =>
  parseCommand("compare", COMPARE, args);
export const parseInspectArgs = (args: readonly string[]): InspectArgs =>
  parseCommand("inspect", INSPECT, args);
export const parseReconcileArgs = (args: readonly string[]): ReconcileArgs =>
  parseCommand("reconcile", RECONCILE, args);
export const parseListArgs = (args: readonly string[]): ListArgs => parseCommand("list", LIST, args);
export const parseStatusArgs = (args: readonly string[]): StatusArgs => parseCommand("status", STATUS, args);
export const parseDrillReportArgs = (args: readonly string[]): DrillReportArgs =>
  parseCommand("drill-report", DRILL_REPORT, args);
export const parseIncidentReportArgs = (args: readonly string[]): IncidentReportArgs =>
  parseCommand("incident-report", INCIDENT_REPORT, args);

/** A whole argv as the tool reads it: the command and its typed options. */
export type ParsedArgs =
  | { readonly command: "backup"; readonly options: BackupArgs }
  | { readonly command: "restore"; readonly options: RestoreArgs }
  | { readonly command: "compare"; readonly options: CompareArgs }
  | { readonly command: "inspect"; readonly options: InspectArgs }
  | { readonly command: "reconcile"; readonly options: ReconcileArgs }
  | { readonly command: "list"; readonly options: ListArgs }
  | { readonly command: "status"; readonly options: StatusArgs }
  | { readonly command: "drill-report"; readonly options: DrillReportArgs }
  | { readonly command: "incident-report"; readonly options: IncidentReportArgs };

/** Parses a Job's argv (the command first) with the tool's parsers; a UsageError if the tool would refuse it. */
export function parseToolArgs(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  switch (command) {
    case "backup":
      return { command, options: parseBackupArgs(rest) };
    case "restore":
      return { command, options: parseRestoreArgs(rest) };
    case "compare":
      return { command, options: parseCompareArgs(rest) };
    case "inspect":
      return { command, options: parseInspectArgs(rest) };
    case "reconcile":
      return { command, options: parseReconcileArgs(rest) };
    case "list":
      return { command, options: parseListArgs(rest) };
    case "status":
      return { command, options: parseStatusArgs(rest) };
    case "drill-report":
      return { command, options: parseDrillReportArgs(rest) };
    case "incident-report":
      return { command, options: parseIncidentReportArgs(rest) };
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command ?? "")}`);
  }
}

/** The argv of parsed options: the inverse of parseToolArgs (the plan's tests rebuild every Job's argv). */
export function buildToolArgs(p: ParsedArgs): string[] {
  switch (p.command) {
    case "backup":
      return backupArgs(p.options);
    case "restore":
      return restoreArgs(p.options);
    case "compare":
      return compareArgs(p.options);
    case "inspect":
      return inspectArgs(p.options);
    case "reconcile":
      return reconcileArgs(p.options);
    case "list":
      return listArgs(p.options);
    case "status":
      return statusArgs(p.options);
    case "drill-report":
      return drillReportArgs(p.options);
    case "incident-report":
      return incidentReportArgs(p.options);
  }
}

/** A whole number flag in [min, max]; undefined when absent. */
export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max = 1_000_000,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function choiceFlag(flag: string, value: string | undefined, values: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!values.includes(value)) {
    throw new UsageError(`--${flag} must be one of: ${values.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** `name=value` pairs of `--setting` (PostgreSQL settings); undefined when none. */
export function settingsFlag(
  values: readonly string[] | undefined,
  flag = `--${RESTORE.settings.flag}`,
): Record<string, string> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)=(.*)$/.exec(v);
    if (m === null) {
      const what =
        flag === `--${RESTORE.settings.flag}` ? "a PostgreSQL setting" : "a name, then = and a value";
      throw new UsageError(`${flag} must be name=value (${what}), got ${JSON.stringify(v)}`);
    }
    out[m[1]!] = m[2]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Environment: where a connection is, and how the tool logs in.

/**
 * The prefixes a connection is read under: `""` libpq's own `PG*` (backup, restore, a manifest compare),
 * `LEFT_`/`RIGHT_` the two sides of `compare`, `PTR_`/`LIVE_` the PTR copy and the live database of
 * `inspect`, `reconcile` and the troubleshooting pod (packages/dr-data/src/bin/psql-side reads the same names:
 * a shell script, it cannot import them; test/contract.test.ts holds it to these).
 */
export const CONNECTION_PREFIXES = ["", "LEFT_", "RIGHT_", "PTR_", "LIVE_"] as const;
export type ConnectionPrefix = (typeof CONNECTION_PREFIXES)[number];

/** libpq's variable of each connection field. */
const CONNECTION_FIELDS = {
  host: "PGHOST",
  port: "PGPORT",
  user: "PGUSER",
  database: "PGDATABASE",
  sslmode: "PGSSLMODE",
  password: "PGPASSWORD",
} as const;
export type ConnectionField = keyof typeof CONNECTION_FIELDS;

/** The environment variable of each connection field under `prefix`: `{ host: "LEFT_PGHOST", … }`. */
export function connectionEnvNames(prefix: ConnectionPrefix): Readonly<Record<ConnectionField, string>> {
  const names = {} as Record<ConnectionField, string>;
  for (const [field, variable] of Object.entries(CONNECTION_FIELDS) as Array<[ConnectionField, string]>) {
    names[field] = `${prefix}${variable}`;
  }
  return names;
}

/** Which prefix and field a variable is (`LIVE_PGUSER` → LIVE_, user); undefined if it is none. */
export function connectionEnvField(
  name: string,
): { readonly prefix: ConnectionPrefix; readonly field: ConnectionField } | undefined {
  for (const prefix of CONNECTION_PREFIXES) {
    const names = connectionEnvNames(prefix);
    const field = (Object.keys(names) as ConnectionField[]).find((f) => names[f] === name);
    if (field !== undefined) return { prefix, field };
  }
  return undefined;
}

/** The selectors the tool requires to be explicit (connection.ts, blobstore.ts): how it logs in to each. */
export const AUTH_ENV = {
  /** `password` or `entra`. */
  postgres: "DR_PG_AUTH",
  /** `entra`, `connection-string` or `shared-key`. */
  storage: "DR_STORAGE_AUTH",
  /** The storage account (with `entra` or `shared-key`). */
  storageAccount: "AZURE_STORAGE_ACCOUNT",
} as const;

// ---------------------------------------------------------------------------------------------------------
// Labels.

/**
 * The label every Kubernetes object the program makes carries (pods, Jobs, CronJobs, the maintenance page, the
 * workload identity's service account, network policies): by it an operator finds, and a policy matches, all
 * of them.
 */
export const PART_OF_LABEL = { "app.kubernetes.io/part-of": "service-dr" } as const;
/** The label every data-tool pod (and each recovery Job) carries: its runbook step. */
export const STEP_LABEL = "service-dr/step";
/** Values of STEP_LABEL beyond the recovery Jobs' steps: the nightly CronJob's pods, the troubleshooting pod. */
export const NIGHTLY_BACKUP_STEP = "nightly-backup" as const;
export const TROUBLESHOOT_STEP = "troubleshoot" as const;
export type PodStep = JobStep | typeof NIGHTLY_BACKUP_STEP | typeof TROUBLESHOOT_STEP;

/** The recovery Job step a label value names, or undefined (for values read back from declared resources). */
export function jobStepOf(value: unknown): JobStep | undefined {
  return typeof value === "string" && Object.hasOwn(JOB_STEPS, value) ? (value as JobStep) : undefined;
}
