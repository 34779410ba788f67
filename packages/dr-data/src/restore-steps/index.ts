/**
 * The steps both restores share (the whole-database restore, restore.ts, and `restore --tables`,
 * table-restore.ts): which backup and its manifest, the lock session, the staging marker. The download and its
 * verification are archive.ts `downloadInto`, shared the same way.
 */
export * from "./backup-source";
export * from "./lock-session";
export * from "./overlapped-check";
export * from "./staging-marker";
