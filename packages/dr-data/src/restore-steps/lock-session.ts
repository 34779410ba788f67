/**
 * The lock session both restores hold (the whole-database restore and `restore --tables`): one restore per
 * target database on a server at a time. The lock is a session-level advisory lock in the maintenance database,
 * so a killed run's lock ends with its connection, and it is held only while that session lives: the session's
 * timeouts are turned off first, or a server (or role, or database) with an idle_session_timeout would end it
 * while the restore works on another connection, and a second restore could start beside the first.
 */
import type { Client } from "pg";
import { queryOne } from "../sql";

/**
 * Every timeout that can end a session or its statements, set to 0 for this session. idle_session_timeout exists
 * from PostgreSQL 14: only the settings this server has are set (pg_settings lists them).
 */
export const TIMEOUTS_OFF_SQL = `SELECT pg_catalog.set_config(name, '0', false) FROM pg_catalog.pg_settings
      WHERE name IN ('statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
                     'idle_session_timeout')`;

/** Turns the session's timeouts off (TIMEOUTS_OFF_SQL): for a session that sits idle while others work. */
export async function timeoutsOff(session: Pick<Client, "query">): Promise<void> {
  await session.query(TIMEOUTS_OFF_SQL);
}

/** The advisory lock's key: the same for both kinds of restore, so a table restore and a full restore of one database exclude each other. */
export function restoreLockKey(database: string): string {
  return `dr-data restore ${database}`;
}

/**
 * Takes the restore lock of `database` on an open session (its timeouts turned off first); throws, naming the
 * database, when another restore holds it.
 */
export async function holdRestoreLock(session: Client, database: string): Promise<void> {
  await timeoutsOff(session);
  const lock = await queryOne<{ ok: boolean }>(session, "SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [
    restoreLockKey(database),
  ]);
  if (!lock.ok) throw new Error(`another restore into ${database} is running on this server`);
}
