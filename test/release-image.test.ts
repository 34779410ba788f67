/**
 * The release workflow of the data tool's image (.github/workflows/release-image.yml), offline: every action
 * pinned to the commit its release tag names (read from each action's repository, docs/provider-facts.md) and
 * given only the inputs its action.yml declares at that commit; least-privilege permissions per job; every
 * script it runs exists; the Dockerfile's PG_MAJOR default is image.json's client major, and what the Dockerfile
 * copies is what .dockerignore lets in. GitHub's own parser runs over it in workflows.test.ts.
 */
import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import image from "../packages/dr-data/image.json";
import { ACTION_PINS } from "./support/action-pins";
import { PROJECT_DIR } from "./support/stacks";

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
  readonly with?: Record<string, unknown>;
  readonly if?: string;
}
interface Job {
  readonly needs?: string | string[];
  readonly if?: string;
  readonly permissions?: Record<string, string>;
  readonly steps: Step[];
  readonly services?: Record<string, { image: string }>;
}
const FILE = path.join(PROJECT_DIR, ".github", "workflows", "release-image.yml");
const TEXT = readFileSync(FILE, "utf8");
const WORKFLOW = parseYaml(TEXT) as {
  on: Record<string, unknown>;
  permissions: unknown;
  jobs: Record<string, Job>;
};
const read = (...p: string[]): string => readFileSync(path.join(PROJECT_DIR, ...p), "utf8");

describe("release-image workflow: actions pinned to commits, known inputs, least privilege", () => {
  it("every uses: is owner/repo@<the tag's commit> # <tag>", () => {
    const uses = [...TEXT.matchAll(/^\s*(?:- )?uses: (\S+)(.*)$/gm)].map(
      (m) => [m[1]!, m[2]!.trim()] as const,
    );
    assert.ok(uses.length >= 12, `${uses.length} uses:`);
    for (const [ref, comment] of uses) {
      const [name, sha] = ref.split("@") as [string, string];
      const pin = ACTION_PINS[name];
      assert.ok(pin !== undefined, `${ref}: not an action this workflow relies on`);
      assert.equal(sha, pin.sha, `${name}: pinned to ${sha}, the ${pin.version} commit is ${pin.sha}`);
      assert.equal(comment, `# ${pin.version}`, name);
    }
  });

  it("each step gives only inputs its action declares", () => {
    for (const [id, job] of Object.entries(WORKFLOW.jobs))
      for (const step of job.steps) {
        if (step.uses === undefined) continue;
        const name = step.uses.split("@")[0]!;
        for (const key of Object.keys(step.with ?? {}))
          assert.ok(ACTION_PINS[name]?.inputs.includes(key), `${id}: ${name} declares no input ${key}`);
      }
  });

  it("no permission at the top; each job exactly what it needs", () => {
    assert.deepStrictEqual(WORKFLOW.permissions, {});
    assert.deepStrictEqual(
      Object.fromEntries(Object.entries(WORKFLOW.jobs).map(([id, job]) => [id, job.permissions])),
      {
        spec: { contents: "read" },
        test: { contents: "read" },
        publish: {
          contents: "read",
          packages: "write",
          "id-token": "write",
          attestations: "write",
        },
        propose: { contents: "write", "pull-requests": "write" },
      },
    );
  });

  it("tests before it pushes, pushes before it signs, signs before it proposes", () => {
    const jobs = WORKFLOW.jobs;
    assert.deepStrictEqual(
      [jobs.test!.needs, jobs.publish!.needs, jobs.propose!.needs],
      ["spec", ["spec", "test"], ["spec", "publish"]],
    );
    const order = (job: Job): string[] =>
      job.steps.map((s) => s.uses?.split("@")[0] ?? (s.run ?? "").split(" ").slice(0, 2).join(" "));
    assert.deepStrictEqual(order(jobs.test!), [
      "actions/checkout",
      "docker/setup-buildx-action",
      "docker/build-push-action",
      "bash packages/dr-data/scripts/smoke-in-image.sh",
      "aquasecurity/trivy-action",
    ]);
    assert.deepStrictEqual(order(jobs.publish!), [
      "actions/checkout",
      "docker/setup-qemu-action",
      "docker/setup-buildx-action",
      "docker/login-action",
      "docker/build-push-action",
      "bash packages/dr-data/scripts/smoke-in-image.sh",
      "aquasecurity/trivy-action",
      "aquasecurity/trivy-action",
      "sigstore/cosign-installer",
      "cosign sign",
      "cosign verify",
      "actions/attest-build-provenance",
    ]);
    const push = jobs.publish!.steps[4]!.with!;
    assert.deepStrictEqual(
      [push.platforms, push.push, push.provenance, push.sbom],
      ["linux/amd64,linux/arm64", true, "mode=max", true],
    );
    const scan = jobs.test!.steps[4]!.with!;
    assert.deepStrictEqual(
      [scan.severity, scan["ignore-unfixed"], scan["exit-code"]],
      ["CRITICAL", true, "1"],
    );
    assert.equal(jobs.test!.services?.postgres?.image, "postgres:${{ matrix.server }}");
  });

  it("scans every platform of the pushed digest, from the registry, before it signs", () => {
    const pushed = "${{ needs.spec.outputs.repository }}@${{ steps.build.outputs.digest }}";
    const scans = WORKFLOW.jobs.publish!.steps.filter((s) =>
      s.uses?.startsWith("aquasecurity/trivy-action@"),
    );
    assert.deepStrictEqual(
      scans.map((s) => [
        s.env?.TRIVY_PLATFORM,
        s.env?.TRIVY_IMAGE_SRC,
        s.with?.["image-ref"],
        s.with?.severity,
        s.with?.["ignore-unfixed"],
        s.with?.["exit-code"],
      ]),
      ["linux/amd64", "linux/arm64"].map((p) => [p, "remote", pushed, "CRITICAL", true, "1"]),
    );
    const push = WORKFLOW.jobs.publish!.steps.find((s) => s.uses?.startsWith("docker/build-push-action@"));
    assert.equal(
      scans.map((s) => s.env?.TRIVY_PLATFORM).join(","),
      push?.with?.platforms,
      "a platform pushed but not scanned",
    );
  });

  it("publishes, signs and proposes only from main or a release tag", () => {
    const releaseRefs = "github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/dr-data-v')";
    const jobs = WORKFLOW.jobs;
    assert.deepStrictEqual(
      [jobs.spec!.if, jobs.test!.if, jobs.publish!.if, jobs.propose!.if],
      [undefined, undefined, releaseRefs, releaseRefs],
    );
  });

  it("every script it runs exists and every file it reads is there", () => {
    for (const job of Object.values(WORKFLOW.jobs))
      for (const step of job.steps)
        for (const m of (step.run ?? "").matchAll(/\bbash (\S+)/g))
          assert.ok(existsSync(path.join(PROJECT_DIR, m[1]!)), m[1]);
    assert.match(TEXT, /jq -r \.repository packages\/dr-data\/image\.json/);
    assert.match(TEXT, /jq -r \.postgresClientMajor packages\/dr-data\/image\.json/);
    assert.deepStrictEqual(Object.keys(image).sort(), ["postgresClientMajor", "repository"]);
  });

  it("runs on a tag, on a change to the tool on main, or by hand", () => {
    assert.deepStrictEqual(WORKFLOW.on, {
      push: {
        branches: ["main"],
        tags: ["dr-data-v*"],
        paths: [
          "packages/dr-data/**",
          "package.json",
          "package-lock.json",
          ".dockerignore",
          ".github/workflows/release-image.yml",
        ],
      },
      workflow_dispatch: null,
    });
  });
});

describe("the image's PostgreSQL client major is written once", () => {
  const dockerfile = read("packages", "dr-data", "Dockerfile");

  it("the Dockerfile's PG_MAJOR default is image.json's, and it is the runtime's base and PG_BINDIR", () => {
    assert.deepStrictEqual(
      [...dockerfile.matchAll(/^ARG PG_MAJOR=(\d+)$/gm)].map((m) => Number(m[1])),
      [image.postgresClientMajor],
    );
    assert.match(dockerfile, /^FROM postgres:\$\{PG_MAJOR\}-bookworm$/m);
    assert.match(dockerfile, /^ENV PG_BINDIR=\/usr\/lib\/postgresql\/\$\{PG_MAJOR\}\/bin/m);
    assert.match(dockerfile, /apt-get install -y --no-install-recommends zstd ca-certificates/);
  });

  it("what the Dockerfile copies from the context, .dockerignore lets in; the bundles' scripts exist", () => {
    const allowed = read(".dockerignore")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1));
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(" "));
    assert.deepStrictEqual(copied, [
      "package.json",
      "package-lock.json",
      "packages/dr-data/package.json",
      "packages/dr-data/src",
      "packages/dr-data/testkit/image-smoke.ts",
      "packages/dr-data/src/bin/psql-side",
    ]);
    for (const file of copied) {
      assert.ok(
        allowed.some((a) => file === a.replace(/\/$/, "") || file.startsWith(a)),
        `${file} is left out by .dockerignore`,
      );
      assert.ok(existsSync(path.join(PROJECT_DIR, file)), file);
    }
    const scripts = (
      JSON.parse(read("packages", "dr-data", "package.json")) as { scripts: Record<string, string> }
    ).scripts;
    for (const m of dockerfile.matchAll(/npm run -w @service-dr\/dr-data (\S+)/g))
      assert.ok(scripts[m[1]!] !== undefined, m[1]);
    assert.match(
      scripts["bundle:smoke"]!,
      /^esbuild testkit\/image-smoke\.ts --bundle .*--outfile=dist\/image-smoke\.js$/,
    );
  });
});
