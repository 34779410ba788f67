/**
 * The release workflow's last step (.github/scripts/propose-image-digest.sh), run for real on a copy of this
 * repository's stack files in a local git repository with a bare `origin`, and a `gh` on PATH that records its
 * arguments: the branch it pushes changes exactly each stack's dataTool.image line, the config accepts the
 * result, and a digest already in the stacks or a malformed one changes nothing.
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { DATA_TOOL_REPOSITORY } from "../../config";
import { parseConfig, readRawConfig } from "../../config";
import { loadStackConfig, serializeConfig } from "../../dev/offline/stack-config";
import { NOW, PROJECT_DIR } from "../support/stacks";

const SCRIPT = path.join(PROJECT_DIR, ".github", "scripts", "propose-image-digest.sh");
const STACKS = ["Pulumi.production.yaml", "Pulumi.staging.yaml"];
/** Where dataTool.image is written: the shared ESC environment definitions the stacks import. */
const ENVIRONMENTS = ["environments/service-dr/production.yaml", "environments/service-dr/staging.yaml"];
const DIGEST = `sha256:${"4a".repeat(32)}`;
const SOURCE_REPOSITORY = "DFE-Digital/service.dr";

describe("propose-image-digest.sh: the pull request that moves the stacks to a new digest", function () {
  this.timeout(60_000);
  let dir: string;
  let work: string;

  const git = (...args: string[]): string => execFileSync("git", args, { cwd: work, encoding: "utf8" });
  function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync("bash", [SCRIPT, ...args], {
      cwd: work,
      encoding: "utf8",
      env: {
        ...process.env,
        GITHUB_REPOSITORY: SOURCE_REPOSITORY,
        PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`,
      },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "propose-"));
    work = path.join(dir, "work");
    execFileSync("git", ["init", "-q", "--bare", "-b", "main", path.join(dir, "origin.git")]);
    execFileSync("git", ["clone", "-q", path.join(dir, "origin.git"), work], { stdio: "ignore" });
    for (const f of STACKS) copyFileSync(path.join(PROJECT_DIR, f), path.join(work, f));
    cpSync(path.join(PROJECT_DIR, "environments"), path.join(work, "environments"), { recursive: true });
    git("add", ".");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "stacks");
    git("push", "-q", "origin", "HEAD:main");
    execFileSync("mkdir", ["-p", path.join(dir, "bin")]);
    const gh = path.join(dir, "bin", "gh");
    writeFileSync(gh, `#!/bin/sh\nprintf '%s\\n' "$@" > "${path.join(dir, "gh-args")}"\n`);
    chmodSync(gh, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("pushes a branch whose only change is each environment's dataTool.image, and opens the pull request", () => {
    const r = run(DATA_TOOL_REPOSITORY, DIGEST, "main");
    assert.equal(r.status, 0, r.stderr);
    const branch = `release-image/${"4a".repeat(6)}`;
    const remote = execFileSync("git", ["ls-remote", "--heads", path.join(dir, "origin.git")], {
      encoding: "utf8",
    });
    assert.match(remote, new RegExp(`refs/heads/${branch.replace("/", "\\/")}$`, "m"));
    assert.deepStrictEqual(
      git("diff", "--name-only", "origin/main", branch).trim().split("\n"),
      ENVIRONMENTS,
    );
    const diff = git("diff", "--unified=0", "origin/main", branch)
      .split("\n")
      .filter((l) => /^[-+] /.test(l));
    const before = `      image: ${DATA_TOOL_REPOSITORY}@sha256:${"0".repeat(64)}`;
    const after = `      image: ${DATA_TOOL_REPOSITORY}@${DIGEST}`;
    assert.deepStrictEqual(diff, [`-${before}`, `+${after}`, `-${before}`, `+${after}`]);
    assert.equal(
      git("log", "-1", "--format=%s", branch).trim(),
      `dataTool.image: ${DATA_TOOL_REPOSITORY}@${DIGEST}`,
    );
    const args = readFileSync(path.join(dir, "gh-args"), "utf8").split("\n");
    assert.deepStrictEqual(args.slice(0, 8), [
      "pr",
      "create",
      "--base",
      "main",
      "--head",
      branch,
      "--title",
      `Data tool image ${DIGEST.slice(0, 19)}`,
    ]);
    assert.match(args.slice(9).join("\n"), new RegExp(`cosign verify ${DATA_TOOL_REPOSITORY}@${DIGEST}`));
  });

  it("the body verifies only this repository's workflow on main or a release tag", () => {
    assert.equal(run(DATA_TOOL_REPOSITORY, DIGEST).status, 0);
    const body = readFileSync(path.join(dir, "gh-args"), "utf8").split("\n").slice(9).join("\n");
    const identity = /--certificate-identity-regexp '([^']+)'/.exec(body)?.[1];
    assert.equal(
      identity,
      "^https://github\\.com/DFE-Digital/service\\.dr/\\.github/workflows/release-image\\.yml@refs/(heads/main|tags/dr-data-v[^/]*)$",
    );
    const signer = (repo: string, ref: string) =>
      `https://github.com/${repo}/.github/workflows/release-image.yml@${ref}`;
    const accepted = (san: string) => new RegExp(identity).test(san);
    assert.deepStrictEqual(
      [
        signer(SOURCE_REPOSITORY, "refs/heads/main"),
        signer(SOURCE_REPOSITORY, "refs/tags/dr-data-v1.2.0"),
        signer("attacker/service-dr", "refs/heads/main"),
        signer("DFE-Digital/servicexdr", "refs/heads/main"),
        signer(SOURCE_REPOSITORY, "refs/heads/feature"),
        signer(SOURCE_REPOSITORY, "refs/heads/main-x"),
      ].map(accepted),
      [true, true, false, false, false, false],
    );
    assert.match(
      body,
      new RegExp(
        `gh attestation verify oci://${DATA_TOOL_REPOSITORY}@${DIGEST} --repo DFE-Digital/service\\.dr\``,
      ),
    );
  });

  it("the config accepts the stacks it writes, with the new image", () => {
    assert.equal(run(DATA_TOOL_REPOSITORY, DIGEST).status, 0);
    copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(work, "Pulumi.yaml"));
    for (const stack of ["staging", "production"]) {
      const { raw, problems } = readRawConfig(serializeConfig(loadStackConfig(work, stack).values));
      assert.deepStrictEqual(
        problems.filter((p) => !p.startsWith("postgresAdminPassword")),
        [],
      );
      assert.equal(parseConfig(raw, NOW).dataTool.image, `${DATA_TOOL_REPOSITORY}@${DIGEST}`);
    }
  });

  it("does nothing when the stacks already name the digest (a second run, on the branch it made)", () => {
    assert.equal(run(DATA_TOOL_REPOSITORY, DIGEST).status, 0);
    const r = run(DATA_TOOL_REPOSITORY, DIGEST);
    assert.deepStrictEqual(
      [r.status, r.stdout.trim()],
      [0, `propose-image-digest: every stack already names ${DATA_TOOL_REPOSITORY}@${DIGEST}`],
    );
  });

  it("refuses a malformed digest or repository, changing nothing", () => {
    const bad = run(DATA_TOOL_REPOSITORY, "sha256:abc");
    assert.deepStrictEqual(
      [bad.status, bad.stderr.trim()],
      [2, "propose-image-digest: DIGEST must be sha256:<64 hex digits>; received 'sha256:abc'"],
    );
    const other = run("docker.io/evil/image", DIGEST);
    assert.equal(other.status, 2);
    assert.equal(git("status", "--porcelain"), "");
  });
});
