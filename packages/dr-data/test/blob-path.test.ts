/**
 * Blob names and prefixes (packages/dr-data/src/naming.ts `blobPathProblem`): a `..` segment would reach
 * another container or leave the `nightly/` lifecycle prefix once the blob's URL is resolved. Every flag that
 * names a blob or prefix refuses such a value, on the tool's side (parse) and the program's (build), naming
 * the flag, the rule and the value.
 */
import { strict as assert } from "node:assert";
import {
  backupArgs,
  compareArgs,
  listArgs,
  parseToolArgs,
  restoreArgs,
  tableRestoreArgs,
} from "../src/contract";
import { main } from "../src/cli";
import { UsageError } from "../src/errors";
import { blobPathProblem } from "../src/naming";

const RULE =
  'must be a blob name or prefix (segments separated by single "/", none empty, "." or ".."; no leading "/", ' +
  "no backslash, no control character)";

describe("blob names and prefixes: no traversal", () => {
  const cases: Array<[string, string | undefined]> = [
    ["nightly/srv-live", undefined],
    ["incident/inc-1/ptr/srv-ptr/20261204T010000Z/app_20261204T010000Z", undefined],
    ["latest", undefined],
    ["a..b/c.d/...", undefined],
    ["", "it is empty"],
    ["../other/x", 'it has a ".." segment'],
    ["nightly/../x", 'it has a ".." segment'],
    ["nightly/srv/..", 'it has a ".." segment'],
    ["nightly/./x", 'it has a "." segment'],
    ["/nightly/x", 'it starts with "/"'],
    ["nightly//x", "it has an empty segment"],
    ["nightly/x/", "it has an empty segment"],
    ["nightly\\..\\x", "it holds a backslash"],
    ["nightly/x\n", "it holds a control character"],
    ["nightly/\u0000x", "it holds a control character"],
    ["nightly/\u007fx", "it holds a control character"],
  ];
  for (const [value, problem] of cases) {
    it(`${JSON.stringify(value)}: ${problem ?? "allowed"}`, () => {
      assert.equal(blobPathProblem(value), problem);
    });
  }

  const usage = (message: string) => (e: unknown) => e instanceof UsageError && e.message === message;

  const parsed: Array<[string[], string]> = [
    [["backup", "--container", "c", "--prefix", "../other/p"], "backup: --prefix"],
    [["restore", "--container", "c", "--blob", "../other/x", "--run-id", "r"], "restore: --blob"],
    [
      ["restore", "--container", "c", "--blob", "latest", "--prefix", "../other/p", "--run-id", "r"],
      "restore: --prefix",
    ],
    [
      ["restore", "--tables", "app.a", "--container", "c", "--blob", "../other/x", "--run-id", "r"],
      "restore: --blob",
    ],
    [["compare", "--against-backup", "../other/x", "--container", "c"], "compare: --against-backup"],
    [
      ["compare", "--against-backup", "latest", "--prefix", "../other/p", "--container", "c"],
      "compare: --prefix",
    ],
    [["list", "--container", "c", "--prefix", "../other/p"], "list: --prefix"],
  ];
  for (const [argv, flag] of parsed) {
    it(`the tool refuses ${argv.join(" ")}`, () => {
      const value = argv.find((a) => a.startsWith("../"))!;
      assert.throws(
        () => parseToolArgs(argv),
        usage(`${flag} ${RULE}; it has a ".." segment: got ${JSON.stringify(value)}`),
      );
    });
  }

  it("the program cannot build such an argv", () => {
    const refused = (flag: string, value: string) =>
      usage(`--${flag} ${RULE}; it has a ".." segment: got ${JSON.stringify(value)}`);
    assert.throws(
      () => backupArgs({ container: "c", prefix: "nightly/../x" }),
      refused("prefix", "nightly/../x"),
    );
    assert.throws(
      () => restoreArgs({ container: "c", blob: "../o/x", runId: "r" }),
      refused("blob", "../o/x"),
    );
    assert.throws(
      () =>
        tableRestoreArgs({ container: "c", blob: "latest", prefix: "a/..", runId: "r", tables: ["app.a"] }),
      refused("prefix", "a/.."),
    );
    assert.throws(
      () => compareArgs({ againstBackup: "../x", container: "c" }),
      refused("against-backup", "../x"),
    );
    assert.throws(() => listArgs({ container: "c", prefix: ".." }), refused("prefix", ".."));
  });

  it("an incident id, which becomes the prefix incident/<id>, cannot hold a dot or a slash", async () => {
    for (const command of ["inspect", "reconcile"]) {
      const err: string[] = [];
      const code = await main(
        [command, "--container", "c", "--incident", "../x"],
        {},
        {
          out: () => undefined,
          err: (x) => err.push(x),
        },
      );
      assert.equal(code, 2);
      assert.equal(
        err[0]!.split("\n")[0],
        `dr-data: ${command}: --incident "../x" must be 1–20 lowercase letters, digits and inner hyphens`,
      );
    }
  });
});
