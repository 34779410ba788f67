/**
 * The smallest `databaseProperties` a manifest (/3 and later) must carry, for tests that build manifests by hand:
 * default privileges (no `grants`), no settings, no comment, no extensions.
 */
export const MINIMAL_DATABASE_PROPERTIES = {
  owner: "o",
  settings: [],
  comment: null,
  encoding: "UTF8",
  collate: "C",
  ctype: "C",
  extensions: [],
} as const;
