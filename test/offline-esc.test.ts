/**
 * ESC environments imported by a stack file, resolved offline as the CLI resolves them (dev/offline/esc.ts;
 * the sources are cited in docs/provider-facts.md): import order, the environment's values over its imports,
 * the stack's config over the environments (objects merged key by key, anything else replaced), namespacing of
 * plain keys, and a clear refusal, naming the file, of what only Pulumi Cloud can evaluate.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { UsageError } from "@service-dr/dr-data";
import { loadStackConfig, serializeConfig } from "../dev/offline/stack-config";

describe("offline stack config: ESC environments", () => {
  let dir: string;
  const write = (file: string, lines: readonly string[]): void => {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), `${lines.join("\n")}\n`);
  };
  const stackFile = (environment: readonly string[], config: readonly string[]): void =>
    write("Pulumi.dev.yaml", ["environment:", ...environment.map((e) => `  - ${e}`), "config:", ...config]);
  const refused = (pattern: RegExp): void => {
    assert.throws(
      () => loadStackConfig(dir, "dev"),
      (err: unknown) => err instanceof UsageError && pattern.test(err.message),
    );
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "esc-"));
    write("Pulumi.yaml", [
      "name: demo",
      "runtime: nodejs",
      "config:",
      "  mode:",
      "    type: string",
      "    default: none",
    ]);
    write("environments/demo/base.yaml", [
      "values:",
      "  pulumiConfig:",
      "    azure-native:location: uksouth",
      "    mode: from-base",
      "    retries: 3",
      "    flag: true",
      "    db:",
      "      version: '16'",
      "      network: { subnet: base-subnet, zone: base-zone }",
      "      cidrs: [10.0.0.0/28, 10.0.1.0/28]",
    ]);
    write("environments/demo/shared.yaml", [
      "imports:",
      "  - demo/base",
      "values:",
      "  pulumiConfig:",
      "    db:",
      "      network: { zone: shared-zone }",
      "      cidrs: [10.9.0.0/28]",
    ]);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("an environment's values over its imports; the stack over the environments; objects merged key by key", () => {
    stackFile(
      ["demo/shared"],
      ["  demo:db:", "    version: '17'", "    network: { subnet: own-subnet }", "    extra: 1"],
    );
    const loaded = loadStackConfig(dir, "dev");
    assert.deepStrictEqual(loaded.environments, ["demo/shared"]);
    assert.deepStrictEqual(serializeConfig(loaded.values), {
      "azure-native:location": "uksouth",
      // the environment's value wins over the project's default; booleans and integers reach the program as text
      "demo:mode": "from-base",
      "demo:retries": "3",
      "demo:flag": "true",
      // arrays are replaced whole (the later import's); the stack's leaves win, the rest of the map stays
      "demo:db": JSON.stringify({
        version: "17",
        network: { subnet: "own-subnet", zone: "shared-zone" },
        cidrs: ["10.9.0.0/28"],
        extra: 1,
      }),
    });
  });

  it("several environments: a later one wins over an earlier one; a stack scalar replaces an object", () => {
    write("environments/demo/later.yaml", [
      "values:",
      "  pulumiConfig:",
      "    mode: from-later",
      "    retries: 5",
    ]);
    stackFile(["demo/base", "demo/later"], ["  demo:retries: '7'", "  demo:db: plain"]);
    const v = serializeConfig(loadStackConfig(dir, "dev").values);
    assert.deepStrictEqual([v["demo:mode"], v["demo:retries"], v["demo:db"]], ["from-later", "7", "plain"]);
  });

  it("a stack without environment: is loaded as before (no environments)", () => {
    write("Pulumi.dev.yaml", ["config:", "  demo:mode: ptr"]);
    const loaded = loadStackConfig(dir, "dev");
    assert.deepStrictEqual(
      [loaded.environments, serializeConfig(loaded.values)],
      [[], { "demo:mode": "ptr" }],
    );
  });

  const refusals: Array<[string, () => void, RegExp]> = [
    [
      "fn::open (a provider)",
      () =>
        write("environments/demo/x.yaml", [
          "values:",
          "  pulumiConfig:",
          "    token:",
          "      fn::open::azure-login: {}",
        ]),
      /environments\/demo\/x\.yaml: values\.pulumiConfig\.token\.fn::open::azure-login: ESC functions .* not resolved offline/,
    ],
    [
      "fn::secret",
      () =>
        write("environments/demo/x.yaml", [
          "values:",
          "  pulumiConfig:",
          "    pw:",
          "      fn::secret: hunter2",
        ]),
      /x\.yaml: values\.pulumiConfig\.pw\.fn::secret: ESC functions/,
    ],
    [
      "interpolation",
      () => write("environments/demo/x.yaml", ["values:", "  pulumiConfig:", "    host: ${app.host}"]),
      /x\.yaml: values\.pulumiConfig\.host: interpolation \(\$\{\.\.\.\}\) is not resolved offline/,
    ],
    [
      "environmentVariables",
      () => write("environments/demo/x.yaml", ["values:", "  environmentVariables:", "    A: b"]),
      /x\.yaml: values\.environmentVariables is not resolved offline/,
    ],
    [
      "an import with options",
      () => write("environments/demo/x.yaml", ["imports:", "  - demo/base: { merge: false }"]),
      /x\.yaml: imports: each entry must be a plain <project>\/<environment> name/,
    ],
    [
      "a missing definition",
      () => write("environments/demo/x.yaml", ["imports:", "  - demo/nowhere"]),
      /ESC environment demo\/nowhere: cannot read its definition .*environments\/demo\/nowhere\.yaml/,
    ],
    [
      "an import cycle",
      () => write("environments/demo/x.yaml", ["imports:", "  - demo/x"]),
      /ESC environment import cycle: demo\/x → demo\/x/,
    ],
    [
      "an unknown top-level key",
      () => write("environments/demo/x.yaml", ["value:", "  pulumiConfig: {}"]),
      /x\.yaml: unknown top-level key "value" \(allowed: imports, values\)/,
    ],
    [
      "a null",
      () => write("environments/demo/x.yaml", ["values:", "  pulumiConfig:", "    db:", "      network: ~"]),
      /x\.yaml: values\.pulumiConfig\.db\.network: null is not resolved offline/,
    ],
    [
      "a fraction",
      () => write("environments/demo/x.yaml", ["values:", "  pulumiConfig:", "    ratio: 1.5"]),
      /x\.yaml: values\.pulumiConfig\.ratio: 1\.5: only integers are resolved offline/,
    ],
  ];
  for (const [what, setUp, pattern] of refusals) {
    it(`refuses ${what}, naming the file`, () => {
      setUp();
      stackFile(["demo/x"], []);
      refused(pattern);
    });
  }

  it("refuses an inline environment definition and a name without a project", () => {
    write("Pulumi.dev.yaml", ["environment:", "  imports: [demo/base]"]);
    refused(/Pulumi\.dev\.yaml: environment must be a list of ESC environment names/);
    stackFile(["base"], []);
    refused(/Pulumi\.dev\.yaml: environment: "base" is not a <project>\/<environment> name/);
  });
});
