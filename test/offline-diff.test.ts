/**
 * `--diff`: what a config change does to the plan, leaf by leaf, with Pulumi-style property paths.
 */
import { strict as assert } from "node:assert";
import { diffPlans, diffValues, flatten, joinPath, type ResourceChange } from "../dev/offline/diff";
import { formatValue, renderDiff, textChangeLines } from "../dev/offline/render";
import { SECRET, type PlanResource, type PlanResult } from "../dev/offline/mocks";

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
    warnings: [],
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
    warnings: ["ptr.x: is ignored"],
  };

  it("finds added, removed and changed resources and output changes", () => {
    assert.deepStrictEqual(diffPlans(before, after), {
      added: [after.resources[0]],
      removed: [before.resources[2]],
      changed: [
        {
          type: "k8s:Patch",
          name: "web",
          action: "update",
          deleteBeforeReplace: false,
          changes: [{ path: "spec.replicas", old: 2, new: 0, effect: "update" }],
        },
        {
          type: "k8s:Ingress",
          name: "public",
          action: "none",
          deleteBeforeReplace: false,
          changes: [{ path: "[option] dependencies[0]", old: "app", new: "page", effect: "option" }],
        },
      ],
      outputs: [
        { path: "drMode", old: "none", new: "ptr" },
        { path: "password", new: SECRET },
        { path: "ptrServerName", old: null, new: "srv-ptr" },
        { path: "replicas.web", old: 2, new: 0 },
      ],
      warnings: ["ptr.x: is ignored"],
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
      "Warnings:",
      "  warning: ptr.x: is ignored",
      "",
      "Changes relative to the committed config:",
      "+ create  azure:Server  ptr",
      "      id: /subscriptions/s/ptr",
      '      createMode: "PointInTimeRestore"',
      "      [option] deleteBeforeReplace: true",
      '      [option] replaceOnChanges[0]: "pointInTimeUTC"',
      "- delete  k8s:Thing  gone  (protected: pulumi up refuses to delete it and fails)",
      "      id: ns/gone",
      "      a: 1",
      "      [option] protect: true",
      "~ update  k8s:Patch  web",
      "    ~ spec.replicas: 2 → 0",
      "= no change  k8s:Ingress  public  (only ignored inputs or resource options differ: no provider call)",
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

describe("offline: update or replace, by the providers' rules and the program's options", () => {
  const res = (
    type: string,
    inputs: Record<string, unknown>,
    options: PlanResource["options"] = {},
  ): PlanResource => ({
    type,
    name: "r",
    id: "x",
    inputs,
    options,
  });
  const plan = (r: PlanResource): PlanResult => ({ resources: [r], outputs: {}, warnings: [] });
  const one = (a: PlanResource, b: PlanResource) => diffPlans(plan(a), plan(b)).changed[0]!;
  const JOB = "kubernetes:batch/v1:Job";
  const job = (image: string, deadline: number, options: PlanResource["options"] = {}) =>
    res(
      JOB,
      {
        metadata: { name: "dr-inc-1-restore" },
        spec: { activeDeadlineSeconds: deadline, template: { spec: { image } } },
      },
      options,
    );

  const rows: Array<
    [string, PlanResource, PlanResource, ResourceChange["action"], boolean, readonly unknown[]]
  > = [
    [
      "a Job's pod template is immutable: replace, the fixed name deleted first",
      job("a", 60),
      job("b", 60),
      "replace",
      true,
      [
        {
          path: "spec.template.spec.image",
          old: "a",
          new: "b",
          effect: "replace",
          reason: "Job spec.template is immutable in Kubernetes",
        },
      ],
    ],
    [
      "a Job's activeDeadlineSeconds is mutable: update",
      job("a", 60),
      job("a", 90),
      "update",
      true,
      [{ path: "spec.activeDeadlineSeconds", old: 60, new: 90, effect: "update" }],
    ],
    [
      "ignoreChanges spec: nothing changes at all",
      job("a", 60, { ignoreChanges: ["spec"] }),
      job("b", 90, { ignoreChanges: ["spec"] }),
      "none",
      true,
      [
        { path: "spec.activeDeadlineSeconds", old: 60, new: 90, effect: "ignored" },
        { path: "spec.template.spec.image", old: "a", new: "b", effect: "ignored" },
      ],
    ],
    [
      "a Deployment's selector is immutable",
      res("kubernetes:apps/v1:Deployment", { spec: { selector: { matchLabels: { app: "a" } } } }),
      res("kubernetes:apps/v1:Deployment", { spec: { selector: { matchLabels: { app: "b" } } } }),
      "replace",
      false,
      [
        {
          path: "spec.selector.matchLabels.app",
          old: "a",
          new: "b",
          effect: "replace",
          reason: "Deployment spec.selector is immutable in Kubernetes",
        },
      ],
    ],
    [
      "an Azure server's create-only field",
      res("azure-native:dbforpostgresql:Server", { availabilityZone: "1" }),
      res("azure-native:dbforpostgresql:Server", { availabilityZone: "2" }),
      "replace",
      false,
      [
        {
          path: "availabilityZone",
          old: "1",
          new: "2",
          effect: "replace",
          reason: "availabilityZone is create-only in Azure",
        },
      ],
    ],
    [
      "an Azure resource's own name is its id",
      res("azure-native:storage:BlobContainer", { containerName: "a" }),
      res("azure-native:storage:BlobContainer", { containerName: "b" }),
      "replace",
      false,
      [
        {
          path: "containerName",
          old: "a",
          new: "b",
          effect: "replace",
          reason: "containerName is the Azure resource's name (part of its id)",
        },
      ],
    ],
    [
      "the program's replaceOnChanges with deleteBeforeReplace",
      res(
        "azure-native:dbforpostgresql:Server",
        { pointInTimeUTC: "t1", tags: { a: "1" } },
        { replaceOnChanges: ["pointInTimeUTC"], deleteBeforeReplace: true },
      ),
      res(
        "azure-native:dbforpostgresql:Server",
        { pointInTimeUTC: "t2", tags: { a: "2" } },
        { replaceOnChanges: ["pointInTimeUTC"], deleteBeforeReplace: true },
      ),
      "replace",
      true,
      [
        {
          path: "pointInTimeUTC",
          old: "t1",
          new: "t2",
          effect: "replace",
          reason: "replaceOnChanges pointInTimeUTC (the program)",
        },
        { path: "tags.a", old: "1", new: "2", effect: "update" },
      ],
    ],
  ];
  for (const [what, a, b, action, deleteFirst, changes] of rows) {
    it(what, () => {
      const c = one(a, b);
      assert.deepStrictEqual([c.action, c.deleteBeforeReplace, c.changes], [action, deleteFirst, changes]);
    });
  }

  it("a long text (the maintenance page) is shown line by line, in full, around what changed", () => {
    const page = (message: string): string => `<!doctype html>\n<html>\n<p>${message}</p>\n</html>\n`;
    const long = "x".repeat(400);
    const text = renderDiff(
      diffPlans(
        plan(
          res("kubernetes:core/v1:ConfigMap", {
            metadata: { name: "m" },
            data: { "page.html": page("Back at 14:00") },
          }),
        ),
        plan(
          res("kubernetes:core/v1:ConfigMap", { metadata: { name: "m" }, data: { "page.html": page(long) } }),
        ),
      ),
      { stack: "s", now: "t", overrides: [], placeholders: [] },
    );
    assert.deepStrictEqual(text.split("\n").slice(3, 10), [
      "+- replace  kubernetes:core/v1:ConfigMap  r  (the old one is deleted first)",
      `    ~ data["page.html"]: (text, 52 → 439 chars)  [replace: pulumi-kubernetes replaces a ConfigMap when its data changes]`,
      "          (2 unchanged lines)",
      "        - <p>Back at 14:00</p>",
      `        + <p>${long}</p>`,
      "          (2 unchanged lines)",
      "",
    ]);
  });

  it("textChangeLines: only the lines between the common start and end", () => {
    assert.deepStrictEqual(textChangeLines("a\nb\nc", "a\nB\nc", ""), [
      "  (1 unchanged line)",
      "- b",
      "+ B",
      "  (1 unchanged line)",
    ]);
    assert.deepStrictEqual(textChangeLines("one", "two", "  "), ["  - one", "  + two"]);
  });
});
