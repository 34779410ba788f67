/**
 * The tool is its own workspace package, and its image installs only the tool's dependency tree
 * (`npm ci -w @service-dr/dr-data` in packages/dr-data/Dockerfile). These tests read the committed lockfile —
 * what `npm ci` installs — and follow every dependency edge from the workspace the way npm resolves it (the
 * nearest `node_modules/<name>` above the requiring package), so a Pulumi package reaching the tool by any
 * path, direct or transitive, dev or optional, fails here before it reaches an image.
 */
import assert from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const REPO = path.resolve(__dirname, "..", "..", "..");
const WORKSPACE = "packages/dr-data";

interface LockEntry {
  readonly link?: boolean;
  readonly resolved?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as {
  packages: Readonly<Record<string, LockEntry>>;
};

/** The lockfile key npm installs `name` at when `from` (a lockfile key) requires it. */
function resolveFrom(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = parentPackageDir(dir)) {
    const key = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[key] !== undefined) return key;
    if (dir === "") return undefined;
  }
}

/** `a/node_modules/b/node_modules/c` → `a/node_modules/b`; `packages/dr-data` → `` (the root). */
function parentPackageDir(key: string): string {
  const i = key.lastIndexOf("/node_modules/");
  if (i >= 0) return key.slice(0, i);
  return key.startsWith("node_modules/") || !key.includes("/node_modules/") ? "" : key;
}

/** Every package the workspace's install holds: lockfile key → the chain of names that brought it in. */
function closure(includeDev: boolean): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const queue: Array<[string, string[]]> = [[WORKSPACE, []]];
  while (queue.length > 0) {
    const [key, chain] = queue.shift()!;
    const entry = lock.packages[key];
    assert.ok(entry !== undefined, `the lockfile has no ${key}`);
    const edges = {
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...entry.peerDependencies,
      ...(includeDev && key === WORKSPACE ? entry.devDependencies : {}),
    };
    for (const name of Object.keys(edges)) {
      const target = resolveFrom(key, name);
      if (target === undefined) continue; // an optional peer that nothing installs
      const real = lock.packages[target]?.link === true ? lock.packages[target].resolved! : target;
      if (seen.has(real)) continue;
      seen.set(real, [...chain, name]);
      queue.push([real, [...chain, name]]);
    }
  }
  return seen;
}

describe("the tool's package: what its image installs", () => {
  it("no Pulumi package in its whole dependency tree, dev and optional included", () => {
    const all = closure(true);
    const pulumi = [...all].filter(([key]) => /(^|\/)node_modules\/@pulumi\//.test(key));
    assert.deepStrictEqual(
      pulumi.map(([key, chain]) => `${key} (via ${chain.join(" → ")})`),
      [],
    );
    // The walk is real: the tool's own runtime dependencies are found.
    for (const name of ["pg", "@azure/storage-blob", "@azure/identity", "luxon", "esbuild"]) {
      assert.ok(all.has(`node_modules/${name}`), `${name} is in the tool's tree`);
    }
  });

  it("the root program's packages are not reached from the tool (the walk would find them if they were)", () => {
    const all = closure(true);
    assert.equal(all.has("node_modules/@pulumi/pulumi"), false);
    assert.equal(all.has("node_modules/zod"), false);
    // The same walk from the root does reach them: it is the edges, not the walk, that keep them out.
    const root = lock.packages[""]!;
    assert.ok(
      resolveFrom("", "@pulumi/pulumi") !== undefined && root.dependencies?.["@pulumi/pulumi"] !== undefined,
    );
  });

  it("its runtime dependencies are exactly the packages its sources import", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, WORKSPACE, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const src = path.join(REPO, WORKSPACE, "src");
    const imported = new Set<string>();
    // Subfolders too (src/table-restore/).
    for (const file of readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".ts"),
    )) {
      for (const m of readFileSync(path.join(src, file), "utf8").matchAll(/from "([^".][^"]*)"/g)) {
        const spec = m[1]!;
        if (spec.startsWith("node:")) continue;
        const parts = spec.split("/");
        imported.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!);
      }
    }
    assert.deepStrictEqual([...imported].sort(), Object.keys(pkg.dependencies).sort());
  });
});

interface PackageEntries {
  readonly exports: Readonly<Record<string, string>>;
  readonly typesVersions: { readonly "*": Readonly<Record<string, readonly string[]>> };
  readonly types: string;
}

describe("the tool's package: what other code may import (exports, typesVersions)", () => {
  const pkg = JSON.parse(readFileSync(path.join(REPO, WORKSPACE, "package.json"), "utf8")) as PackageEntries;
  const dir = path.join(REPO, WORKSPACE);

  it("Node resolves every exported subpath to its file, and refuses any other deep path", () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath.includes("*")) continue;
      const spec = subpath === "." ? "@service-dr/dr-data" : `@service-dr/dr-data/${subpath.slice(2)}`;
      assert.equal(require.resolve(spec), path.join(dir, target), spec);
    }
    assert.equal(
      require.resolve("@service-dr/dr-data/testkit/azurite"),
      path.join(dir, "testkit/azurite.ts"),
    );
    for (const deep of [
      "@service-dr/dr-data/src/list",
      "@service-dr/dr-data/src/cli",
      "@service-dr/dr-data/src/restore",
    ]) {
      assert.throws(() => require.resolve(deep), { code: "ERR_PACKAGE_PATH_NOT_EXPORTED" }, deep);
    }
  });

  it("TypeScript (moduleResolution node, which ignores exports) sees the same subpaths and no others", () => {
    // typesVersions is how node10 resolution learns the subpaths; its last entry sends any other deep path to
    // a folder that does not exist, so `tsc` refuses what Node would refuse at run time.
    const mapped = pkg.typesVersions["*"];
    const fromExports = Object.entries(pkg.exports)
      .filter(([k]) => k !== "." && k !== "./package.json")
      .map(([k, v]) => [k.slice(2), [v.slice(2)]]);
    assert.deepStrictEqual(Object.entries(mapped), [
      [pkg.types, [pkg.types]],
      ...fromExports,
      ["*", ["not-exported/*"]],
    ]);
    assert.equal(pkg.exports["."], `./${pkg.types}`);
  });
});
