/**
 * The offline plan's config: `--set` with `pulumi config set --path` semantics, and stack files read the way
 * the CLI reads them (Pulumi.yaml defaults, top-level scalars as text, declared secrets as placeholders).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  applySet,
  declarationProblems,
  loadStackConfig,
  parsePropertyPath,
  qualifyKey,
  SECRET_PLACEHOLDER,
  serializeConfig,
  typedPathValue,
  type ConfigValue,
  type StackConfig,
} from "../dev/offline/stack-config";
import { UsageError } from "@service-dr/dr-data";

describe("offline: --set paths are parsed like `pulumi config set --path`", () => {
  const rows: Array<[string, Array<string | number>]> = [
    ["drMode", ["drMode"]],
    ["ptr.restoreTime", ["ptr", "restoreTime"]],
    ["names[0]", ["names", 0]],
    ["a.b[2].c", ["a", "b", 2, "c"]],
    ['["parent.name"]["nested.name"]', ["parent.name", "nested.name"]],
    ['parameters["azure.extensions"]', ["parameters", "azure.extensions"]],
    ['a["with \\"quotes\\""]', ["a", 'with "quotes"']],
  ];
  for (const [text, expected] of rows) {
    it(`${text} → ${JSON.stringify(expected)}`, () =>
      assert.deepStrictEqual(parsePropertyPath(text), expected));
  }
  const bad: Array<[string, RegExp]> = [
    ["a[", /missing closing bracket/],
    ['a["b', /missing closing quote/],
    ["a[x]", /array index "x"/],
    ["[0]", /first segment must be a key name/],
    ["", /empty/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.throws(() => parsePropertyPath(text), message));
  }
});

describe("offline: values under a path are typed like `pulumi config set --path`", () => {
  const rows: Array<[string, string | number | boolean]> = [
    ["true", true],
    ["false", false],
    ["0", 0],
    ["42", 42],
    ["-3", -3],
    ["+7", 7],
    ["007", "007"], // a leading zero keeps the string (Pulumi does the same)
    ["1.5", "1.5"], // only integers become numbers
    ["True", "True"],
    ["yes", "yes"],
    ["2026-11-24T13:05:00", "2026-11-24T13:05:00"],
    ["9007199254740993", "9007199254740993"], // beyond 2^53: kept exact as a string
    ["", ""],
  ];
  for (const [text, expected] of rows) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () =>
      assert.strictEqual(typedPathValue(text), expected));
  }
});

describe("offline: keys without a namespace are the project's", () => {
  const rows: Array<[string, string]> = [
    ["drMode", "service-dr:drMode"],
    ["ptr.restoreTime", "service-dr:ptr.restoreTime"],
    ["service-dr:drMode", "service-dr:drMode"],
    ["azure-native:location", "azure-native:location"],
    ['parameters["a:b"]', 'service-dr:parameters["a:b"]'],
  ];
  for (const [key, expected] of rows) {
    it(`${key} → ${expected}`, () => assert.equal(qualifyKey("service-dr", key), expected));
  }
});

describe("offline: applySet", () => {
  const base = (): StackConfig =>
    new Map<string, ConfigValue>([
      ["service-dr:drMode", "none"],
      ["service-dr:ptr", { restoreTime: "2026-11-24T10:00:00", note: "x" }],
      ["service-dr:replicas", { web: 2, worker: 1 }],
      ["service-dr:list", ["a", "b"]],
      ["service-dr:plain", "text"],
    ]);
  // [assignment, key that changes, its value afterwards]
  const rows: Array<[string, string, ConfigValue]> = [
    ["drMode=ptr", "service-dr:drMode", "ptr"],
    ["maintenance=true", "service-dr:maintenance", "true"], // top-level entries are always strings
    ["count=3", "service-dr:count", "3"],
    [
      "ptr.restoreTime=2026-11-24T13:05:00",
      "service-dr:ptr",
      { restoreTime: "2026-11-24T13:05:00", note: "x" },
    ],
    ["replicas.web=0", "service-dr:replicas", { web: 0, worker: 1 }],
    ["replicas.web=010", "service-dr:replicas", { web: "010", worker: 1 }],
    ["rebuild.from=revive", "service-dr:rebuild", { from: "revive" }],
    ["rebuild.enabled=false", "service-dr:rebuild", { enabled: false }],
    ["a.b.c=1", "service-dr:a", { b: { c: 1 } }],
    ["list[1]=z", "service-dr:list", ["a", "z"]],
    ["list[2]=c", "service-dr:list", ["a", "b", "c"]],
    ["names[0]=a", "service-dr:names", ["a"]],
    ["plain.x=1", "service-dr:plain", { x: 1 }], // a path over a top-level string replaces it
    ['parameters["azure.extensions"]=PGCRYPTO', "service-dr:parameters", { "azure.extensions": "PGCRYPTO" }],
    ["service-dr:ptr.note=y", "service-dr:ptr", { restoreTime: "2026-11-24T10:00:00", note: "y" }],
    ["azure-native:location=uksouth", "azure-native:location", "uksouth"],
    ["message=a=b", "service-dr:message", "a=b"], // only the first = separates key and value
  ];
  for (const [assignment, key, expected] of rows) {
    it(`--set ${assignment}`, () => {
      const values = base();
      const before = new Map(values);
      applySet(values, "service-dr", assignment);
      assert.deepStrictEqual(values.get(key), expected);
      for (const [k, v] of before)
        if (k !== key) assert.deepStrictEqual(values.get(k), v, `${k} must not change`);
    });
  }
  it("does not modify the object it was given (the committed config stays intact for --diff)", () => {
    const ptr = { restoreTime: "2026-11-24T10:00:00" };
    const values: StackConfig = new Map<string, ConfigValue>([["service-dr:ptr", ptr]]);
    applySet(values, "service-dr", "ptr.restoreTime=2026-11-24T13:05:00");
    assert.deepStrictEqual(ptr, { restoreTime: "2026-11-24T10:00:00" });
  });
  const bad: Array<[string, RegExp]> = [
    ["drMode", /expects <path>=<value>/],
    ["=x", /expects <path>=<value>/],
    ["list[5]=x", /array index 5 out of range \(length 2\)/],
    ["replicas[0]=1", /an array was expected for index 0/],
    ["list.x=1", /a map was expected for key "x"/],
  ];
  for (const [assignment, message] of bad) {
    it(`refuses --set ${assignment}`, () => {
      assert.throws(
        () => applySet(base(), "service-dr", assignment),
        (err: unknown) => {
          assert.ok(err instanceof UsageError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }
});

describe("offline: stack files are read as the CLI passes them to the program", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "offline-stack-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      [
        "name: demo",
        "runtime: nodejs",
        "config:",
        "  mode:",
        "    type: string",
        "    default: none",
        "  retries:",
        "    type: integer",
        "    default: 3",
        "  adminPassword:",
        "    type: string",
        "    secret: true",
        "  apiToken:",
        "    type: string",
        "    secret: true",
        "  azure-native:location: uksouth",
        "  kubernetes:namespace:",
        "    value: default-ns",
      ].join("\n"),
    );
    fs.writeFileSync(
      path.join(dir, "Pulumi.dev.yaml"),
      [
        "config:",
        "  demo:ratio: 1.50",
        "  demo:padded: 007",
        "  demo:flag: true",
        '  demo:quoted: "16"',
        "  demo:when: 2026-11-24T13:05:00",
        "  demo:obj:",
        "    n: 1",
        "    b: false",
        "    t: 2026-11-24T13:05:00",
        "    list: [a, 2]",
        "  demo:apiToken: operator-set-in-file",
        "  demo:withSecure:",
        "    user: u",
        "    password:",
        "      secure: v1:abc",
        "  demo:encrypted:",
        "    secure: v1:def",
        "  kubernetes:namespace: dev-ns",
      ].join("\n"),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("serialises every key as the program receives it", () => {
    const loaded = loadStackConfig(dir, "dev");
    assert.equal(loaded.project, "demo");
    assert.deepStrictEqual(serializeConfig(loaded.values), {
      "azure-native:location": "uksouth",
      "demo:adminPassword": SECRET_PLACEHOLDER,
      "demo:apiToken": "operator-set-in-file",
      "demo:encrypted": SECRET_PLACEHOLDER,
      "demo:flag": "true",
      "demo:mode": "none",
      "demo:obj": '{"n":1,"b":false,"t":"2026-11-24T13:05:00","list":["a",2]}',
      "demo:padded": "007",
      "demo:quoted": "16",
      "demo:ratio": "1.50",
      "demo:retries": "3",
      "demo:when": "2026-11-24T13:05:00",
      "demo:withSecure": `{"user":"u","password":"${SECRET_PLACEHOLDER}"}`,
      "kubernetes:namespace": "dev-ns",
    });
  });
  it("marks declared secrets and encrypted values as secret; placeholders only where there was no value", () => {
    const loaded = loadStackConfig(dir, "dev");
    assert.deepStrictEqual([...loaded.secretKeys].sort(), [
      "demo:adminPassword",
      "demo:apiToken",
      "demo:encrypted",
      "demo:withSecure",
    ]);
    assert.deepStrictEqual([...loaded.placeholderKeys].sort(), [
      "demo:adminPassword",
      "demo:encrypted",
      "demo:withSecure",
    ]);
  });
  it("reports what the real CLI would refuse: a declared secret in plain text", () => {
    const loaded = loadStackConfig(dir, "dev");
    assert.deepStrictEqual(loaded.plaintextSecrets, ["demo:apiToken"]);
    assert.deepStrictEqual(declarationProblems(loaded, loaded.values), [
      "Stack 'dev' with configuration key 'apiToken' must be encrypted as it's secret " +
        "(pulumi config set --secret apiToken <value>)",
    ]);
  });
  it("reports declared keys missing or of the wrong type (after overrides)", () => {
    const loaded = loadStackConfig(dir, "dev");
    const values = new Map(loaded.values);
    values.delete("demo:mode");
    applySet(values, "demo", "retries=three");
    applySet(values, "demo", "adminPassword=set-by-hand");
    assert.deepStrictEqual(declarationProblems(loaded, values), [
      "Stack 'dev' is missing configuration value 'mode' (declared in Pulumi.yaml without a default)",
      "Stack 'dev' with configuration key 'retries' must be of type 'integer' (received \"three\")",
      "Stack 'dev' with configuration key 'apiToken' must be encrypted as it's secret " +
        "(pulumi config set --secret apiToken <value>)",
    ]);
  });
  it("a missing stack file is a usage error naming the file", () => {
    assert.throws(
      () => loadStackConfig(dir, "nope"),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /no stack file .*Pulumi\.nope\.yaml/);
        return true;
      },
    );
  });
});
