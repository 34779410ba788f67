/**
 * What the documentation tells a person to type connects as the tool does: a server's certificate verified
 * (`sslmode=verify-full`). A command copied from the runbook with `sslmode=require` would accept any server,
 * with the administrators group member's access token as the password. The drill's example reports are
 * produced by runs (nothing in them is hand-written): they are left to the drill.
 */
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const WEAK = /sslmode=(?:disable|allow|prefer|require|verify-ca)\b/g;

function handWritten(): string[] {
  const docs = readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md") && !f.startsWith("drill-report-"))
    .map((f) => path.join("docs", f));
  return ["README.md", "CONTRIBUTING.md", "ARCHITECTURE.md", ...docs];
}

describe("docs: connections verify the server's certificate", () => {
  it("no hand-written document gives a weaker sslmode than verify-full", () => {
    const found = handWritten().flatMap((file) =>
      readFileSync(path.join(ROOT, file), "utf8")
        .split("\n")
        .flatMap((line, i) => [...line.matchAll(WEAK)].map((m) => `${file}:${i + 1}: ${m[0]}`)),
    );
    assert.deepStrictEqual(found, []);
  });
});
