/**
 * Which tables restore checks while pg_restore still runs (src/restore-steps/overlapped-check.ts), pure: the
 * archive entries that qualify, and the pg_restore lines that queue them.
 */
import { strict as assert } from "node:assert";
import { parseTableData } from "../src/archive";
import { earlyCheckable, writesRowsLate } from "../src/restore-steps/overlapped-check";
import { MANIFEST_VERSION, type Manifest, type ManifestRelation } from "../src/manifest";

const rel = (name: string, kind: ManifestRelation["kind"], method?: "copy"): ManifestRelation => ({
  name,
  kind,
  columns: "id bigint",
  rows: 1,
  checksum: "0",
  ...(method === undefined ? {} : { method }),
});

const manifest = (relations: ManifestRelation[]): Manifest =>
  ({ tool: MANIFEST_VERSION, relations }) as unknown as Manifest;

const TOC = [
  ";",
  "; Archive created at 2026-12-07 02:00:00 UTC",
  "215; 1259 16386 TABLE app accounts postgres",
  "3288; 0 16386 TABLE DATA app accounts postgres",
  "3289; 0 16393 TABLE DATA app events postgres",
  "3290; 0 16400 TABLE DATA app placements postgres",
  "3293; 0 16413 TABLE DATA public documents postgres",
  "3294; 0 16420 TABLE DATA my.schema t postgres",
  "3295; 0 16421 TABLE DATA my schema.t postgres",
  "3301; 0 0 SEQUENCE SET public documents_id_seq postgres",
].join("\n");

describe("tool: restore's overlapped contents check (pure)", () => {
  it("takes exactly the COPY-summarized tables whose TABLE DATA entry is found once, by dump id", () => {
    const m = manifest([
      rel("app.accounts", "table", "copy"),
      rel("app.events", "table", "copy"),
      rel("app.placements", "table"),
      rel("public.documents_id_seq", "sequence"),
      rel("app.missing", "table", "copy"),
    ]);
    assert.deepEqual(
      [...earlyCheckable(m, TOC)],
      [
        [3288, "app.accounts"],
        [3289, "app.events"],
      ],
    );
  });

  it("a name whose dots split two ways onto two entries is left for after pg_restore", () => {
    // `my.schema.t` is schema `my.schema` table `t` (3294) or schema `my` table `schema.t` (3295): ambiguous.
    assert.deepEqual([...earlyCheckable(manifest([rel("my.schema.t", "table", "copy")]), TOC)], []);
    const one = TOC.replace("3295; 0 16421 TABLE DATA my schema.t postgres\n", "");
    assert.deepEqual(
      [...earlyCheckable(manifest([rel("my.schema.t", "table", "copy")]), one)],
      [[3294, "my.schema.t"]],
    );
  });

  it("an empty table of contents or manifest gives nothing to check early", () => {
    assert.deepEqual([...earlyCheckable(manifest([rel("app.accounts", "table", "copy")]), "")], []);
    assert.deepEqual([...earlyCheckable(manifest([]), TOC)], []);
  });

  it("an archive with an entry that writes rows after the data is checked after pg_restore only", () => {
    // pg_restore --list lines of a real dump (PostgreSQL 15) with each kind of entry.
    const base = [
      "3279; 0 16388 TABLE DATA public audit postgres",
      "3280; 0 16398 TABLE DATA public p1 postgres",
      "3278; 0 16385 TABLE DATA public t postgres",
    ];
    const cases: [string, string | undefined, boolean][] = [
      ["a trigger on a table with data", "3133; 2620 16394 TRIGGER public t t_trg postgres", false],
      [
        "a trigger on a partitioned table (no data entry)",
        "3134; 2620 16401 TRIGGER public p p_trg postgres",
        true,
      ],
      ["an event trigger", "3131; 3466 16408 EVENT TRIGGER - et postgres", true],
      ["a materialized view's data", "3281; 0 16403 MATERIALIZED VIEW DATA public mv postgres", true],
      ["none of them", undefined, false],
    ];
    const m = manifest([rel("public.t", "table", "copy")]);
    for (const [what, line, late] of cases) {
      const toc = [...base, ...(line === undefined ? [] : [line])].join("\n");
      assert.equal(writesRowsLate(toc, parseTableData(toc)), late, what);
      assert.deepEqual([...earlyCheckable(m, toc)], late ? [] : [[3278, "public.t"]], what);
    }
  });
});
