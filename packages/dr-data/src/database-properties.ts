/**
 * Database-level properties that pg_dump (without `--create`) does not carry and a restore into a new database
 * would otherwise lose: the owner, the access privileges (`GRANT … ON DATABASE`, e.g. CONNECT revoked from
 * PUBLIC) and the settings made with `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET` (an app's
 * `search_path`, a `statement_timeout`). restore.ts copies them from the database being replaced onto the
 * staging database inside the swap's transaction and checks the copy is exact before it commits.
 *
 * Settings are rebuilt the way pg_dump does (`makeAlterConfigCommand`): the value as one literal, except for
 * the list-valued settings whose elements are quoted one by one, so `search_path = app, "my schema"` comes back
 * as it was and never as one schema named `app, "my schema"`.
 */
import type { Client } from "pg";
import { quoteIdent, quoteLiteral } from "./sql";

export interface DatabaseGrant {
  /** undefined: PUBLIC. */
  readonly grantee: string | undefined;
  readonly privilege: "CREATE" | "CONNECT" | "TEMPORARY";
  readonly grantable: boolean;
}

export interface DatabaseSetting {
  /** undefined: the database's own setting (`ALTER DATABASE … SET`); else `ALTER ROLE role IN DATABASE`. */
  readonly role: string | undefined;
  /** As stored in pg_db_role_setting: `name=value`. */
  readonly setting: string;
}

export interface DatabaseProperties {
  readonly owner: string;
  /** undefined: the default privileges (datacl is NULL). */
  readonly grants: readonly DatabaseGrant[] | undefined;
  readonly settings: readonly DatabaseSetting[];
}

const PRIVILEGES = new Set(["CREATE", "CONNECT", "TEMPORARY"]);

/** Settings whose values are lists of quoted elements (PostgreSQL's GUC_LIST_QUOTE; pg_dump's own list). */
const LIST_QUOTE_SETTINGS = new Set([
  "local_preload_libraries",
  "search_path",
  "session_preload_libraries",
  "shared_preload_libraries",
  "temp_tablespaces",
  "unix_socket_directories",
]);

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)*$/;

export async function readDatabaseProperties(c: Client, database: string): Promise<DatabaseProperties> {
  const d = await c.query<{ owner: string; has_acl: boolean }>(
    "SELECT pg_get_userbyid(datdba) AS owner, datacl IS NOT NULL AS has_acl FROM pg_database WHERE datname = $1",
    [database],
  );
  const row = d.rows[0];
  if (row === undefined) throw new Error(`database ${database} does not exist`);
  let grants: DatabaseGrant[] | undefined;
  if (row.has_acl) {
    const g = await c.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
              a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = $1`,
      [database],
    );
    grants = g.rows.map((x) => {
      if (!PRIVILEGES.has(x.privilege)) throw new Error(`unexpected database privilege ${x.privilege}`);
      return {
        grantee: x.grantee ?? undefined,
        privilege: x.privilege as DatabaseGrant["privilege"],
        grantable: x.grantable,
      };
    });
  }
  const s = await c.query<{ role: string | null; config: string[] | null }>(
    `SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role, s.setconfig AS config
       FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = $1`,
    [database],
  );
  const settings = s.rows.flatMap((x) =>
    (x.config ?? []).map((setting) => ({ role: x.role ?? undefined, setting })),
  );
  return { owner: row.owner, grants, settings };
}

/** Splits a stored list value (`app, "my schema"`) into its elements, like PostgreSQL's SplitGUCList. */
export function splitSettingList(value: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && /\s/.test(value[i]!)) i++;
  };
  skipSpace();
  if (i === n) return out;
  for (;;) {
    let element = "";
    if (value[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) throw new Error(`unterminated quoted element in ${JSON.stringify(value)}`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            element += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        element += value[i]!;
        i++;
      }
    } else {
      while (i < n && value[i] !== "," && !/\s/.test(value[i]!)) element += value[i++]!;
      if (element === "") throw new Error(`empty element in ${JSON.stringify(value)}`);
    }
    out.push(element);
    skipSpace();
    if (i === n) return out;
    if (value[i] !== ",") throw new Error(`expected a comma in ${JSON.stringify(value)} at ${i}`);
    i++;
    skipSpace();
  }
}

/** `name = 'value'` (or `name = 'a', 'b'` for list settings) from a stored `name=value`. */
export function settingAssignment(stored: string): string {
  const eq = stored.indexOf("=");
  if (eq <= 0) throw new Error(`database setting ${JSON.stringify(stored)} is not name=value`);
  const name = stored.slice(0, eq);
  const value = stored.slice(eq + 1);
  if (!SETTING_NAME.test(name)) throw new Error(`database setting name ${JSON.stringify(name)}`);
  if (LIST_QUOTE_SETTINGS.has(name.toLowerCase())) {
    const elements = splitSettingList(value);
    return `${name} = ${elements.length === 0 ? "''" : elements.map(quoteLiteral).join(", ")}`;
  }
  return `${name} = ${quoteLiteral(value)}`;
}

/** The statements that give `target` the properties `p` (run on a fresh database owned by the caller). */
export function propertyStatements(target: string, p: DatabaseProperties, targetOwner: string): string[] {
  const db = quoteIdent(target);
  const sql: string[] = [];
  if (p.owner !== targetOwner) sql.push(`ALTER DATABASE ${db} OWNER TO ${quoteIdent(p.owner)}`);
  if (p.grants !== undefined) {
    // From the default (owner: all; PUBLIC: CONNECT, TEMPORARY) to exactly the recorded list.
    sql.push(
      `REVOKE ALL ON DATABASE ${db} FROM PUBLIC`,
      `REVOKE ALL ON DATABASE ${db} FROM ${quoteIdent(p.owner)}`,
    );
    for (const g of p.grants) {
      const to = g.grantee === undefined ? "PUBLIC" : quoteIdent(g.grantee);
      sql.push(`GRANT ${g.privilege} ON DATABASE ${db} TO ${to}${g.grantable ? " WITH GRANT OPTION" : ""}`);
    }
  }
  for (const s of p.settings) {
    const assignment = settingAssignment(s.setting);
    sql.push(
      s.role === undefined
        ? `ALTER DATABASE ${db} SET ${assignment}`
        : `ALTER ROLE ${quoteIdent(s.role)} IN DATABASE ${db} SET ${assignment}`,
    );
  }
  return sql;
}

/** What differs between two databases' properties (empty: the same), compared as sets. */
export function propertyDifferences(expected: DatabaseProperties, actual: DatabaseProperties): string[] {
  const problems: string[] = [];
  if (expected.owner !== actual.owner) problems.push(`owner ${actual.owner}, expected ${expected.owner}`);
  const grants = (p: DatabaseProperties) =>
    p.grants === undefined
      ? "default"
      : p.grants
          .map((g) => `${g.grantee ?? "PUBLIC"}:${g.privilege}${g.grantable ? "*" : ""}`)
          .sort()
          .join(",");
  if (grants(expected) !== grants(actual)) {
    problems.push(`privileges ${grants(actual)}, expected ${grants(expected)}`);
  }
  const settings = (p: DatabaseProperties) =>
    p.settings
      .map((s) => `${s.role ?? "(database)"}:${s.setting}`)
      .sort()
      .join("; ");
  if (settings(expected) !== settings(actual)) {
    problems.push(`settings [${settings(actual)}], expected [${settings(expected)}]`);
  }
  return problems;
}

export interface DatabaseExtension {
  readonly name: string;
  readonly version: string;
  readonly schema: string;
}

/**
 * Everything database-level a backup records (manifest /3, `databaseProperties`), read in the dump's snapshot:
 * the properties a restore applies to a new database (owner, privileges, settings, comment), those fixed at
 * CREATE DATABASE (encoding, collation, ctype, locale provider and ICU locale), and the extensions it uses
 * (which the dump itself re-creates; recorded so a target server lacking one is refused before anything is
 * touched, and `compare` can report a version difference).
 */
export interface DatabaseRecord extends DatabaseProperties {
  readonly comment: string | null;
  readonly encoding: string;
  readonly collate: string;
  readonly ctype: string;
  /** `c` (libc) or `i` (ICU); absent before PostgreSQL 15. */
  readonly localeProvider?: string | undefined;
  readonly icuLocale?: string | undefined;
  readonly extensions: readonly DatabaseExtension[];
}

/**
 * The record of `database`; `c` must be connected to that database (extensions are per database). In a
 * repeatable-read transaction the shared catalogs (pg_database, pg_db_role_setting) are read in its snapshot.
 */
export async function readDatabaseRecord(c: Client, database: string): Promise<DatabaseRecord> {
  const properties = await readDatabaseProperties(c, database);
  const d = await c.query<{ d: Record<string, unknown>; encoding: string; comment: string | null }>(
    `SELECT pg_catalog.to_jsonb(d) AS d, pg_catalog.pg_encoding_to_char(d.encoding) AS encoding,
            pg_catalog.shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_catalog.pg_database d WHERE d.datname = $1`,
    [database],
  );
  const row = d.rows[0];
  if (row === undefined) throw new Error(`database ${database} does not exist`);
  const str = (k: string): string | undefined => {
    const v = row.d[k];
    return typeof v === "string" ? v : undefined;
  };
  const e = await c.query<DatabaseExtension>(
    `SELECT e.extname AS name, e.extversion AS version, n.nspname AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      ORDER BY e.extname`,
  );
  return {
    ...properties,
    comment: row.comment,
    encoding: row.encoding,
    collate: str("datcollate") ?? "C",
    ctype: str("datctype") ?? "C",
    localeProvider: str("datlocprovider"),
    icuLocale: str("daticulocale") ?? str("datlocale"),
    extensions: e.rows.map((x) => ({ name: x.name, version: x.version, schema: x.schema })),
  };
}

/**
 * A database's own comment: a `<db>_before_<run id>` database carries the restore's record (JSON, packages/dr-data/src/restore.ts
 * `RestoreRecord`) in its comment, which keeps the comment it had before (`previousComment`); that one counts.
 */
export function ownComment(comment: string | null): string | null {
  if (comment === null || !comment.startsWith("{")) return comment;
  try {
    const r = JSON.parse(comment) as { tool?: unknown; previousComment?: unknown };
    if (
      r.tool === "dr-data-restore/1" &&
      (typeof r.previousComment === "string" || r.previousComment === null)
    ) {
      return r.previousComment;
    }
  } catch {
    // an ordinary comment that starts with a brace
  }
  return comment;
}

function grantsText(p: DatabaseProperties): string {
  return p.grants === undefined
    ? "default"
    : p.grants
        .map((g) => `${g.grantee ?? "PUBLIC"}:${g.privilege}${g.grantable ? "*" : ""}`)
        .sort()
        .join(",");
}

function settingsText(p: DatabaseProperties): string {
  return `[${p.settings
    .map((s) => `${s.role ?? "(database)"}:${s.setting}`)
    .sort()
    .join("; ")}]`;
}

/**
 * What differs between two records, each as `what: left vs right`. `extensions: false` leaves them out (a
 * restored database's extensions come from the dump, not from the database it replaces). An extension's
 * version is not a difference here (`extensionVersionNotes`): pg_restore creates each extension at the target
 * server's default version, which may be newer than a long-lived source's.
 */
export function recordDifferences(
  left: DatabaseRecord,
  right: DatabaseRecord,
  o: { readonly extensions: boolean } = { extensions: true },
): string[] {
  const fields: [string, (r: DatabaseRecord) => string][] = [
    ["owner", (r) => r.owner],
    ["privileges", grantsText],
    ["settings", settingsText],
    ["comment", (r) => JSON.stringify(ownComment(r.comment))],
    ["encoding", (r) => r.encoding],
    ["collation", (r) => r.collate],
    ["ctype", (r) => r.ctype],
    ["locale provider", (r) => r.localeProvider ?? "-"],
    ["ICU locale", (r) => r.icuLocale ?? "-"],
  ];
  if (o.extensions) {
    fields.push([
      "extensions",
      (r) =>
        r.extensions.length === 0 ? "none" : r.extensions.map((x) => `${x.name} in ${x.schema}`).join(", "),
    ]);
  }
  return fields.flatMap(([what, text]) => {
    const [l, r] = [text(left), text(right)];
    return l === r ? [] : [`${what}: ${l} vs ${r}`];
  });
}

/** Extensions present on both sides at different versions, as notes (`pgcrypto 1.2 vs 1.3`). */
export function extensionVersionNotes(left: DatabaseRecord, right: DatabaseRecord): string[] {
  const r = new Map(right.extensions.map((x) => [x.name, x.version]));
  return left.extensions.flatMap((x) => {
    const v = r.get(x.name);
    return v === undefined || v === x.version
      ? []
      : [`extension ${x.name} is at version ${x.version} vs ${v}`];
  });
}

/** The roles a record names (owner, grantees, per-role settings), each with what it is given. */
export function recordRoles(p: DatabaseProperties): Map<string, string[]> {
  const roles = new Map<string, string[]>();
  const add = (role: string, what: string) => roles.set(role, [...(roles.get(role) ?? []), what]);
  add(p.owner, "owner");
  const byPrivilege = [...(p.grants ?? [])].sort((a, b) => a.privilege.localeCompare(b.privilege));
  for (const g of byPrivilege) if (g.grantee !== undefined) add(g.grantee, `${g.privilege} on the database`);
  for (const s of p.settings) if (s.role !== undefined) add(s.role, `setting ${s.setting}`);
  return roles;
}

/**
 * The properties of `p` without what goes to roles in `missing`: their grants and per-role settings are dropped,
 * and a missing owner is replaced by `fallbackOwner` (the restoring login), who takes over the owner's own
 * privileges (an owner's privileges are entries of the list like any other's).
 */
export function withoutRoles(
  p: DatabaseProperties,
  missing: ReadonlySet<string>,
  fallbackOwner: string,
): DatabaseProperties {
  const ownerMissing = missing.has(p.owner);
  return {
    owner: ownerMissing ? fallbackOwner : p.owner,
    grants: p.grants
      ?.map((g) => (ownerMissing && g.grantee === p.owner ? { ...g, grantee: fallbackOwner } : g))
      .filter((g) => g.grantee === undefined || !missing.has(g.grantee)),
    settings: p.settings.filter((s) => s.role === undefined || !missing.has(s.role)),
  };
}

/** Shape check of a recorded DatabaseRecord (from a manifest); the problems, empty when it is one. */
export function databaseRecordProblems(raw: unknown): string[] {
  if (typeof raw !== "object" || raw === null) return ["databaseProperties is not an object"];
  const r = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of ["owner", "encoding", "collate", "ctype"]) {
    if (typeof r[k] !== "string") problems.push(`databaseProperties.${k} is not a string`);
  }
  if (r.comment !== null && typeof r.comment !== "string") problems.push("databaseProperties.comment");
  if (r.grants !== undefined && !Array.isArray(r.grants)) problems.push("databaseProperties.grants");
  for (const g of Array.isArray(r.grants) ? (r.grants as unknown[]) : []) {
    const x = g as Record<string, unknown> | null;
    if (x === null || typeof x !== "object" || !PRIVILEGES.has(String(x.privilege))) {
      problems.push(`databaseProperties.grants: ${JSON.stringify(g)}`);
    }
  }
  if (!Array.isArray(r.settings)) problems.push("databaseProperties.settings is not a list");
  for (const s of Array.isArray(r.settings) ? (r.settings as unknown[]) : []) {
    const x = s as Record<string, unknown> | null;
    if (x === null || typeof x !== "object" || typeof x.setting !== "string") {
      problems.push(`databaseProperties.settings: ${JSON.stringify(s)}`);
    }
  }
  if (!Array.isArray(r.extensions)) problems.push("databaseProperties.extensions is not a list");
  return problems;
}
