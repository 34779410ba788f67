/**
 * `--diff`: what a config change does to the plan, leaf by leaf, with Pulumi-style property paths.
 */
import { strict as assert } from "node:assert";
import { diffPlans, diffValues, flatten, joinPath } from "../offline/diff";
import { formatValue, renderDiff } from "../offline/render";
import { SECRET, type PlanResult } from "../offline/mocks";

describe("offline: property paths and leaves", () => {
  const paths: Array<[string, string | number, string]> = [
    ["", "spec", "spec"],
    ["spec", "replicas", "spec.replicas"],
    ["rules", 0, "rules[0]"],
    ["metadata.annotations", "pulumi.com/patchForce", 'metadata.annotations["pulumi.com/patchForce"]'],
    ["", "azure.extensions", '["azure.extensions"]'],
  ];
  for (const [parent, key, expected] of paths) {
    it(`${JSON.stringify(parent)} + ${JSON.stringify(key)} → ${expected}`, () =>
      assert.equal(joinPath(parent, key), expected));
  }
  it("flattens objects and arrays to their leaves; empty ones are leaves", () => {
    assert.deepStrictEqual(
      [...flatten({ a: { b: 1, c: [true, { d: null }] }, e: {}, f: [], "g.h": "x" })],
      [
        ["a.b", 1],
        ["a.c[0]", true],
        ["a.c[1].d", null],
        ["e", {}],
        ["f", []],
        ['["g.h"]', "x"],
      ],
    );
  });
});

describe("offline: diffValues", () => {
  const rows: Array<[string, unknown, unknown, ReturnType<typeof diffValues>]> = [
    ["equal", { a: 1 }, { a: 1 }, []],
    [
      "changed leaf",
      { spec: { replicas: 2 } },
      { spec: { replicas: 0 } },
      [{ path: "spec.replicas", old: 2, new: 0 }],
    ],
    ["added leaf", { a: 1 }, { a: 1, b: "x" }, [{ path: "b", new: "x" }]],
    ["removed leaf", { a: 1, b: "x" }, { a: 1 }, [{ path: "b", old: "x" }]],
    ["null is a value", { a: null }, { a: "x" }, [{ path: "a", old: null, new: "x" }]],
    ["array grows", { l: [1] }, { l: [1, 2] }, [{ path: "l[1]", new: 2 }]],
    ["secret marker compares as a value", { p: SECRET }, { p: SECRET }, []],
  ];
  for (const [what, before, after, expected] of rows) {
    it(what, () => assert.deepStrictEqual(diffValues(before, after), expected));
  }
});

describe("offline: diffPlans and its rendering", () => {
  const before: PlanResult = {
    resources: [
      { type: "k8s:Patch", name: "web", id: "ns/web", inputs: { spec: { replicas: 2 } }, options: {} },
      {
        type: "k8s:Ingress",
        name: "public",
        id: "ns/public",
        inputs: { backend: "app" },
        options: { dependencies: ["app"] },
      },
      { type: "k8s:Thing", name: "gone", id: "ns/gone", inputs: { a: 1 }, options: { protect: true } },
    ],
    outputs: { drMode: "none", ptrServerName: null, replicas: { web: 2 } },
  };
  const after: PlanResult = {
    resources: [
      {
        type: "azure:Server",
        name: "ptr",
        id: "/subscriptions/s/ptr",
        inputs: { createMode: "PointInTimeRestore" },
        options: { deleteBeforeReplace: true, replaceOnChanges: ["pointInTimeUTC"] },
      },
      { type: "k8s:Patch", name: "web", id: "ns/web", inputs: { spec: { replicas: 0 } }, options: {} },
      {
        type: "k8s:Ingress",
        name: "public",
        id: "ns/public",
        inputs: { backend: "app" },
        options: { dependencies: ["page"] },
      },
    ],
    outputs: { drMode: "ptr", ptrServerName: "srv-ptr", replicas: { web: 0 }, password: SECRET },
  };

  it("finds added, removed and changed resources and output changes", () => {
    assert.deepStrictEqual(diffPlans(before, after), {
      added: [after.resources[0]],
      removed: [before.resources[2]],
      changed: [
        { type: "k8s:Patch", name: "web", changes: [{ path: "spec.replicas", old: 2, new: 0 }] },
        {
          type: "k8s:Ingress",
          name: "public",
          changes: [{ path: "[option] dependencies[0]", old: "app", new: "page" }],
        },
      ],
      outputs: [
        { path: "drMode", old: "none", new: "ptr" },
        { path: "password", new: SECRET },
        { path: "ptrServerName", old: null, new: "srv-ptr" },
        { path: "replicas.web", old: 2, new: 0 },
      ],
    });
  });

  it("renders only the changes, old → new", () => {
    const text = renderDiff(diffPlans(before, after), {
      stack: "staging",
      now: "2026-11-24T15:00:00.000Z",
      overrides: ["drMode=ptr"],
      placeholders: [],
    });
    assert.deepStrictEqual(text.split("\n"), [
      "Stack staging, now 2026-11-24T15:00:00.000Z (offline plan: Pulumi mock runtime, no cloud calls)",
      "Overrides: --set drMode=ptr",
      "",
      "Changes relative to the committed config:",
      "+ azure:Server  ptr",
      "      id: /subscriptions/s/ptr",
      '      createMode: "PointInTimeRestore"',
      "      [option] deleteBeforeReplace: true",
      '      [option] replaceOnChanges[0]: "pointInTimeUTC"',
      "- k8s:Thing  gone",
      "      id: ns/gone",
      "      a: 1",
      "      [option] protect: true",
      "~ k8s:Patch  web",
      "    ~ spec.replicas: 2 → 0",
      "~ k8s:Ingress  public",
      '    ~ [option] dependencies[0]: "app" → "page"',
      "",
      "Outputs:",
      '  ~ drMode: "none" → "ptr"',
      "  + password: [secret]",
      '  ~ ptrServerName: null → "srv-ptr"',
      "  ~ replicas.web: 2 → 0",
      "",
    ]);
  });

  it("says so when nothing changes", () => {
    const text = renderDiff(diffPlans(before, before), {
      stack: "s",
      now: "t",
      overrides: [],
      placeholders: [],
    });
    assert.match(text, /\(no resource changes\)\n\nOutputs:\n {2}\(no output changes\)\n$/);
  });

  const values: Array<[unknown, string]> = [
    [SECRET, "[secret]"],
    ["x", '"x"'],
    [0, "0"],
    [null, "null"],
    [undefined, "(absent)"],
    ["a".repeat(301), `${JSON.stringify("a".repeat(100))}… (301 chars)`],
  ];
  for (const [value, expected] of values) {
    it(`formats ${JSON.stringify(value) ?? "undefined"} as ${expected}`, () =>
      assert.equal(formatValue(value), expected));
  }
});
