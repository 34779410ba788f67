/**
 * The one flag reader of every CLI here (src/flags.ts) and the one cause-chain printer (src/errors.ts): a table
 * of argv and the exact words of the problem, and the chain as each CLI prints it.
 */
import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { errorChain, describeError, UsageError } from "../src/errors";
import { flagProblem, parseFlags } from "../src/flags";

const OPTIONS = {
  stack: { type: "string" },
  set: { type: "string", multiple: true },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

describe("flags: one reader for the tool, the plan and the drill", () => {
  const problems: readonly (readonly [readonly string[], string | undefined])[] = [
    [[], undefined],
    [["--stack", "s", "--json", "--set", "a=1", "--set=b=2", "-h"], undefined],
    [["--stack=-x"], undefined],
    [["--bogus"], "unknown flag --bogus"],
    [["--bogus=1"], "unknown flag --bogus"],
    [["-x"], "unknown flag -x"],
    [["extra"], 'unexpected argument "extra"'],
    [["--stack"], "--stack needs a value"],
    [["--stack", "--json"], "--stack needs a value"],
    [["--stack", "-h"], "--stack needs a value"],
    [["--json=yes"], "--json takes no value"],
    [["--json", "--bogus", "extra"], "unknown flag --bogus"],
  ];
  for (const [argv, problem] of problems) {
    it(`${JSON.stringify(argv)} → ${problem ?? "no problem"}`, () => {
      assert.equal(flagProblem(argv, OPTIONS), problem);
    });
  }

  it("parseFlags returns parseArgs' typed values, repeatable flags in order, the short alias by its name", () => {
    const values = parseFlags("plan", ["--stack", "s", "--set", "a=1", "--set=b=2", "-h"], OPTIONS);
    assert.deepEqual({ ...values }, { stack: "s", set: ["a=1", "b=2"], help: true });
  });

  it("a problem is a UsageError prefixed by the command, or bare when there is none", () => {
    assert.throws(() => parseFlags("backup", ["--colour"], OPTIONS), {
      name: "UsageError",
      message: "backup: unknown flag --colour",
    });
    assert.throws(
      () => parseFlags("", ["--stack"], OPTIONS),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.message, "--stack needs a value");
        return true;
      },
    );
  });
});

describe("errors: one cause-chain printer", () => {
  const inner = Object.assign(new Error("The specified blob does not exist.\nRequestId:abc"), {
    statusCode: 404,
    details: { errorCode: "BlobNotFound" },
  });
  const outer = new Error("reading backups/x", { cause: new Error("download failed", { cause: inner }) });

  it("lists each link, outermost first, an Azure SDK error as its first line and the storage's reason", () => {
    assert.deepEqual(errorChain(outer), [
      "reading backups/x",
      "download failed",
      "The specified blob does not exist. (storage answered 404 BlobNotFound)",
    ]);
    assert.equal(
      describeError(outer),
      "reading backups/x: download failed: The specified blob does not exist. (storage answered 404 BlobNotFound)",
    );
  });

  it("with stack, each Error's stack; a thrown non-Error ends the chain as text", () => {
    const chain = errorChain(new Error("top", { cause: { code: 7 } }), { stack: true });
    assert.equal(chain.length, 2);
    assert.match(chain[0] ?? "", /^Error: top\n\s+at /);
    assert.equal(chain[1], '{"code":7}');
  });

  it("stops after ten links of a cyclic chain", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as Error & { cause: unknown }).cause = b;
    assert.equal(errorChain(a).length, 10);
  });
});
