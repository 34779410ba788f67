/**
 * Manifest /5 (src/manifest.ts), pure: columns are matched by name, not position; older manifests are read
 * as before; a manifest relabelled to another version is refused; a materialized view that a restore refreshed
 * is a note, not a difference.
 */
import { strict as assert } from "node:assert";
import type { RelationSummary } from "../src/compare";
import {
  checkAgainstManifest,
  manifestDifferences,
  MANIFEST_V3,
  MANIFEST_V4,
  MANIFEST_VERSION,
  parseManifest,
  tocDifferences,
  tocEntries,
  type Manifest,
  type ManifestRelation,
} from "../src/manifest";
import { MINIMAL_DATABASE_PROPERTIES } from "../testkit/manifest-fixtures";

const databaseProperties = MINIMAL_DATABASE_PROPERTIES;

/** A manifest of `tool` with `relations`, as JSON text. */
const manifestText = (tool: string, relations: readonly object[]): string =>
  JSON.stringify({
    tool,
    backup: "b",
    database: "d",
    sourceServer: "s",
    snapshot: "x",
    takenAt: "t",
    databaseProperties,
    ...(tool === MANIFEST_VERSION ? { tableOfContents: [] } : {}),
    relations,
  });

const CAR: ManifestRelation = {
  name: "app.cars",
  kind: "table",
  columns: "id integer, doors integer, registered date",
  columnList: [
    { name: "id", type: "integer" },
    { name: "doors", type: "integer" },
    { name: "registered", type: "date" },
    { name: "label", type: "text", generated: true },
  ],
  rows: 2,
  checksum: "c",
};

/** `r` as a /4 or older manifest records it: no column list. */
function olderRelation(r: ManifestRelation): ManifestRelation {
  return Object.fromEntries(
    Object.entries(r).filter(([k]) => k !== "columnList"),
  ) as unknown as ManifestRelation;
}

/** The database's summary of app.cars with `columns` in this order. */
const restored = (columns: [string, string, boolean?][]): RelationSummary => ({
  kind: "table",
  columns: columns.map(([n, t]) => `${n} ${t}`).join(", "),
  columnList: columns.map(([name, type, generated]) => ({ name, type, generated: generated ?? false })),
  rows: 2,
  checksum: "c",
});

describe("tool: manifest /5 columns by name (pure)", () => {
  it("the same columns in another order are equal", () => {
    const actual = restored([
      ["id", "integer"],
      ["registered", "date"],
      ["label", "text", true],
      ["doors", "integer"],
    ]);
    assert.deepStrictEqual(manifestDifferences(actual, CAR, MANIFEST_VERSION), []);
  });

  it("a renamed, retyped, missing, extra or no longer generated column is a difference, named", () => {
    const cases: [RelationSummary, string[]][] = [
      [
        restored([
          ["id", "integer"],
          ["door_count", "integer"],
          ["registered", "date"],
          ["label", "text", true],
        ]),
        ['column "doors" integer missing in the database', 'column "door_count" integer not in the backup'],
      ],
      [
        restored([
          ["id", "bigint"],
          ["doors", "integer"],
          ["registered", "date"],
          ["label", "text", true],
        ]),
        ['column "id" bigint in the database, "id" integer in the backup'],
      ],
      [
        restored([
          ["id", "integer"],
          ["doors", "integer"],
          ["registered", "date"],
          ["label", "text"],
        ]),
        ['column "label" text in the database, "label" text (generated) in the backup'],
      ],
      [
        restored([
          ["id", "integer"],
          ["doors", "integer"],
          ["label", "text", true],
          ["extra", "text"],
          ["registered", "date"],
        ]),
        ['column "extra" text not in the backup'],
      ],
    ];
    for (const [actual, expected] of cases) {
      assert.deepStrictEqual(manifestDifferences(actual, CAR, MANIFEST_VERSION), expected, actual.columns);
    }
  });

  it("an older manifest (/4, /3: one ordered text) is read as before: another order differs", () => {
    const old: ManifestRelation = olderRelation(CAR);
    const actual = restored([
      ["id", "integer"],
      ["registered", "date"],
      ["doors", "integer"],
    ]);
    for (const version of [MANIFEST_V4, MANIFEST_V3]) {
      assert.deepStrictEqual(
        manifestDifferences({ ...actual, columnList: undefined }, old, version),
        [
          "columns differ: (id integer, registered date, doors integer) vs (id integer, doors integer, registered date)",
        ],
        version,
      );
      assert.deepStrictEqual(parseManifest(manifestText(version, [old]), "m").relations[0], old, version);
    }
  });

  it("a manifest relabelled to another version is refused, naming what does not fit", () => {
    const old: ManifestRelation = olderRelation(CAR);
    const view = {
      name: "app.counts",
      kind: "materialized view",
      columns: "n bigint",
      columnList: [{ name: "n", type: "bigint" }],
      rows: 1,
      checksum: "v",
      populated: true,
    };
    const cases: [string, string, RegExp][] = [
      ["/5 as /4", manifestText(MANIFEST_V4, [CAR]), /app\.cars: columnList is not in dr-data-manifest\/4$/],
      ["/5 as /3", manifestText(MANIFEST_V3, [CAR]), /app\.cars: columnList is not in dr-data-manifest\/3$/],
      ["/4 as /5", manifestText(MANIFEST_VERSION, [old]), /app\.cars: columnList missing$/],
      [
        "a materialized view in /4",
        manifestText(MANIFEST_V4, [{ ...view, columnList: undefined }]),
        /app\.counts: kind "materialized view" \(dr-data-manifest\/4: table, sequence\)$/,
      ],
      [
        "a materialized view without populated",
        manifestText(MANIFEST_VERSION, [{ ...view, populated: undefined }]),
        /app\.counts: populated undefined \(a boolean on a materialized view, absent otherwise\)$/,
      ],
      [
        "a duplicate column",
        manifestText(MANIFEST_VERSION, [{ ...CAR, columnList: [CAR.columnList![0], CAR.columnList![0]] }]),
        /app\.cars: columnList entry \{"name":"id","type":"integer"\} \(name, unique, and type\)$/,
      ],
      [
        "generated other than true",
        manifestText(MANIFEST_VERSION, [
          { ...CAR, columnList: [{ name: "id", type: "integer", generated: false }] },
        ]),
        /app\.cars: columnList id: generated false \(true or absent\)$/,
      ],
    ];
    for (const [what, text, error] of cases) {
      assert.throws(() => parseManifest(text, "m"), error, what);
    }
    assert.equal(parseManifest(manifestText(MANIFEST_VERSION, [CAR, view]), "m").relations.length, 2);
  });

  it("a materialized view refreshed by the restore: a note, not a difference; its population is compared", () => {
    const recorded: ManifestRelation = {
      name: "app.counts",
      kind: "materialized view",
      columns: "n bigint",
      columnList: [{ name: "n", type: "bigint" }],
      rows: 2,
      checksum: "stale",
      populated: true,
    };
    const manifest: Manifest = parseManifest(manifestText(MANIFEST_VERSION, [recorded]), "m");
    const view = (rows: number, checksum: string): RelationSummary => ({
      kind: "materialized view",
      columns: "n bigint",
      columnList: [{ name: "n", type: "bigint", generated: false }],
      rows,
      checksum,
    });
    const refreshed = checkAgainstManifest(new Map([["app.counts", view(3, "fresh")]]), manifest);
    assert.equal(refreshed.equal, true);
    assert.deepStrictEqual(refreshed.notes, [
      "app.counts: materialized view refreshed by the restore: 3 rows, the source held 2 (it was stale when backed up)",
    ]);
    const same = checkAgainstManifest(new Map([["app.counts", view(2, "stale")]]), manifest);
    assert.deepStrictEqual([same.equal, same.notes], [true, []]);
    const empty = checkAgainstManifest(new Map([["app.counts", view(0, "not populated")]]), manifest);
    assert.equal(empty.equal, false);
    assert.deepStrictEqual(empty.relations[0]!.differences, [
      "not populated in the database, populated in the backup",
    ]);
  });

  it("the table of contents: entries without dump ids and OIDs, sorted; differences both ways, per copy", () => {
    const list = [
      ";",
      "; Archive created at 2026-12-07 02:33:07 UTC",
      "214; 1259 16385 TABLE public big postgres",
      "3255; 0 16385 TABLE DATA public big postgres",
      "3; 2615 2200 SCHEMA - public postgres",
      ";3256; 0 0 COMMENT - SCHEMA public postgres",
      "",
    ].join("\n");
    const recorded = tocEntries(list);
    assert.deepStrictEqual(recorded, [
      "SCHEMA - public postgres",
      "TABLE DATA public big postgres",
      "TABLE public big postgres",
    ]);
    assert.deepStrictEqual(tocDifferences(recorded, list), { extra: [], missing: [] });
    const tampered = list
      .replace("TABLE public big postgres", "TABLE public big intruder")
      .concat(
        "\n215; 1255 16400 FUNCTION public pwned() postgres\n215; 1255 16400 FUNCTION public pwned() postgres\n",
      );
    assert.deepStrictEqual(tocDifferences(recorded, tampered), {
      extra: [
        "FUNCTION public pwned() postgres",
        "FUNCTION public pwned() postgres",
        "TABLE public big intruder",
      ],
      missing: ["TABLE public big postgres"],
    });
  });

  it("tableOfContents: required in /5, refused in older versions", () => {
    const v5 = JSON.parse(manifestText(MANIFEST_VERSION, [])) as Record<string, unknown>;
    assert.throws(
      () => parseManifest(JSON.stringify({ ...v5, tableOfContents: undefined }), "m"),
      /^VerificationError: m is not a dr-data manifest: tableOfContents is not a list of entries$/,
    );
    assert.throws(
      () => parseManifest(JSON.stringify({ ...v5, tableOfContents: ["TABLE a b o", 1] }), "m"),
      /^VerificationError: m is not a dr-data manifest: tableOfContents is not a list of entries$/,
    );
    assert.throws(
      () => parseManifest(JSON.stringify({ ...v5, tool: MANIFEST_V4 }), "m"),
      /^VerificationError: m is not a dr-data manifest: dr-data-manifest\/4 records no tableOfContents$/,
    );
  });
});
