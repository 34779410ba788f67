/**
 * The component package (packages/service-recovery): the schema Pulumi infers from it — what every language's
 * SDK is generated from — checked exactly and against the stack config's own schema, and the component
 * constructed from plain args under the mock runtime: the resources a stack of this repository declares for
 * the same settings, or a ConfigError listing every problem with nothing declared.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { readFileSync } from "node:fs";
import { Settings } from "luxon";
import { z } from "zod";
import * as pulumi from "@pulumi/pulumi";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental/provider";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { PACKAGE_TYPE, ServiceRecovery, type ServiceRecoveryArgs } from "../packages/service-recovery/src";
import { schema as configSchema, unwrapped } from "../config/schema";
import { ConfigError } from "../config";
import { RecordingMocks, runProgram, type PlanResult } from "../dev/offline/mocks";
import { declareStack, NOW, PROJECT_DIR, stackRaw } from "./support/stacks";

const PKG_DIR = path.join(PROJECT_DIR, "packages", "service-recovery");

interface SchemaProperty {
  readonly type?: string;
  readonly $ref?: string;
  readonly optional?: boolean;
  readonly plain?: boolean;
  readonly items?: SchemaProperty;
  readonly additionalProperties?: SchemaProperty;
}
interface ObjectSchema {
  readonly properties: Record<string, SchemaProperty>;
  readonly required?: readonly string[];
}
interface PackageSchema {
  readonly name: string;
  readonly namespace?: string;
  readonly resources: Record<
    string,
    {
      readonly isComponent: boolean;
      readonly inputProperties: Record<string, SchemaProperty>;
      readonly requiredInputs: readonly string[];
      readonly properties: Record<string, SchemaProperty>;
      readonly required: readonly string[];
    }
  >;
  readonly types: Record<string, ObjectSchema>;
}

/** The package's name and namespace as the plugin host derives them from package.json (cmd/run-plugin/run.js). */
function hostNames(): { name: string; namespace: string | undefined } {
  const pkg = JSON.parse(readFileSync(path.join(PKG_DIR, "package.json"), "utf8")) as { name: string };
  const m = /(@.*?\/)?(.+)/.exec(pkg.name)!;
  return { name: m[2]!.replace(/[^-a-zA-Z0-9_]/g, "-"), namespace: m[1]?.slice(1, -1) };
}

/** A property's type in one word: `string`, `number?`, `map<DeploymentSettings>`, `PostgresSettings`. */
function typeWord(p: SchemaProperty): string {
  const base =
    p.$ref !== undefined
      ? p.$ref.replace("#/types/service-recovery:index:", "")
      : p.type === "array"
        ? `list<${typeWord(p.items!)}>`
        : p.type === "object" && p.additionalProperties !== undefined
          ? `map<${typeWord(p.additionalProperties)}>`
          : p.type!;
  return p.optional === true ? `${base}?` : base;
}
const words = (props: Record<string, SchemaProperty>): Record<string, string> =>
  Object.fromEntries(Object.entries(props).map(([k, p]) => [k, typeWord(p)]));

/** The zod object at a path of the config schema (through optional, default and records), or undefined. */
function zodObjectAt(path: readonly string[]): z.ZodObject | undefined {
  let t: z.core.$ZodType = configSchema;
  for (const segment of path) {
    t = unwrapped(t);
    if (t instanceof z.ZodRecord) t = unwrapped(t.valueType);
    if (!(t instanceof z.ZodObject)) return undefined;
    const next = (t.shape as Record<string, z.core.$ZodType | undefined>)[segment];
    if (next === undefined) return undefined;
    t = next;
  }
  t = unwrapped(t);
  if (t instanceof z.ZodRecord) t = unwrapped(t.valueType);
  return t instanceof z.ZodObject ? t : undefined;
}

describe("component package: the inferred schema", function () {
  // The analyzer builds a TypeScript program of the package's whole import tree: ~30 s on a loaded machine.
  this.timeout(180_000);
  let schema: PackageSchema;
  before(async () => {
    const { name, namespace } = hostNames();
    const provider = new ComponentProvider({
      components: [ServiceRecovery],
      name,
      ...(namespace === undefined ? {} : { namespace }),
      dirname: PKG_DIR,
    });
    schema = JSON.parse(await provider.getSchema()) as PackageSchema;
  });

  it("is package service-recovery (namespace service-dr) with the one component, under the token it registers", () => {
    assert.deepStrictEqual([schema.name, schema.namespace], ["service-recovery", "service-dr"]);
    assert.deepStrictEqual(Object.keys(schema.resources), [PACKAGE_TYPE]);
    assert.equal(PACKAGE_TYPE, "service-recovery:index:ServiceRecovery");
    assert.equal(schema.resources[PACKAGE_TYPE]!.isComponent, true);
  });

  it("takes the stack file's keys, every one plain, the same required ones", () => {
    const r = schema.resources[PACKAGE_TYPE]!;
    assert.deepStrictEqual(words(r.inputProperties), {
      timeZone: "string",
      drMode: "string?",
      drPhase: "string?",
      incidentId: "string?",
      incidentDeclaredAt: "string?",
      ptr: "PtrSettings?",
      rebuild: "RebuildSettings?",
      retry: "map<number>?",
      drill: "string?",
      objectives: "ObjectivesSettings?",
      maintenance: "boolean?",
      freeze: "boolean?",
      stopService: "boolean?",
      maintenanceMessage: "string?",
      adopt: "AdoptSettings?",
      azure: "AzureSettings",
      workloadIdentity: "WorkloadIdentitySettings",
      postgres: "PostgresSettings",
      kubernetes: "KubernetesSettings",
      github: "GithubSettings",
      backup: "BackupSettings",
      alerts: "AlertsSettings?",
      dataTool: "DataToolSettings",
    });
    assert.deepStrictEqual([...r.requiredInputs].sort(), [
      "azure",
      "backup",
      "dataTool",
      "github",
      "kubernetes",
      "postgres",
      "timeZone",
      "workloadIdentity",
    ]);
    // Plain: the plan is computed from the values before anything is declared, so none may be an Output.
    const notPlain = Object.entries(r.inputProperties).filter(([, p]) => p.plain !== true);
    assert.deepStrictEqual(notPlain, []);
  });

  it("has the nested settings' types, e.g. postgres exactly", () => {
    assert.deepStrictEqual(Object.keys(schema.types).sort(), [
      ...[
        "AdoptSettings",
        "AlertsSettings",
        "AppSettings",
        "ApproverSettings",
        "AzureSettings",
        "BackupSettings",
        "DataEgressSettings",
        "DataToolSettings",
        "DatabaseSettings",
        "DeploymentSettings",
        "EntraAdminSettings",
        "EntraAuthSettings",
        "GithubSettings",
        "KubernetesSettings",
        "NetworkSettings",
        "ObjectivesSettings",
        "PostgresSettings",
        "PtrSettings",
        "RebuildSettings",
        "ScratchSettings",
        "SkuSettings",
        "WebhookSettings",
        "WorkloadIdentitySettings",
      ].map((t) => `service-recovery:index:${t}`),
    ]);
    const pg = schema.types["service-recovery:index:PostgresSettings"]!;
    assert.deepStrictEqual(words(pg.properties), {
      serverName: "string",
      location: "string?",
      version: "string",
      sku: "SkuSettings",
      storageSizeGb: "number",
      backupRetentionDays: "number?",
      geoRedundantBackup: "boolean?",
      highAvailability: "string?",
      availabilityZone: "string?",
      standbyAvailabilityZone: "string?",
      network: "NetworkSettings",
      entraAdmin: "EntraAdminSettings",
      databases: "map<DatabaseSettings>",
      appDatabase: "string",
      parameters: "map<string>?",
    });
  });

  it("mirrors the config schema at every level: the same fields, required where the stack requires them", () => {
    const mismatches: string[] = [];
    const compare = (
      where: readonly string[],
      props: Record<string, SchemaProperty>,
      required: readonly string[],
    ) => {
      const zodObject = zodObjectAt(where);
      if (zodObject === undefined)
        return void mismatches.push(`${where.join(".")}: not an object in the config`);
      const shape = zodObject.shape as Record<string, z.core.$ZodType>;
      const label = where.length === 0 ? "(top)" : where.join(".");
      if (JSON.stringify(Object.keys(props).sort()) !== JSON.stringify(Object.keys(shape).sort()))
        mismatches.push(
          `${label}: fields ${Object.keys(props).sort().join(",")} ≠ ${Object.keys(shape).sort().join(",")}`,
        );
      const zodRequired = Object.keys(shape).filter(
        (k) => !(shape[k] instanceof z.ZodOptional || shape[k] instanceof z.ZodDefault),
      );
      if (JSON.stringify([...required].sort()) !== JSON.stringify(zodRequired.sort()))
        mismatches.push(
          `${label}: required ${[...required].sort().join(",")} ≠ ${zodRequired.sort().join(",")}`,
        );
      for (const [k, p] of Object.entries(props)) {
        const ref = p.$ref ?? p.additionalProperties?.$ref;
        if (ref === undefined) continue;
        const t = schema.types[ref.replace("#/types/", "")]!;
        compare([...where, k], t.properties, t.required ?? []);
      }
    };
    const r = schema.resources[PACKAGE_TYPE]!;
    compare([], r.inputProperties, r.requiredInputs);
    assert.deepStrictEqual(mismatches, []);
  });

  it("outputs the stack outputs an operator reads, typed", () => {
    const r = schema.resources[PACKAGE_TYPE]!;
    assert.deepStrictEqual(words(r.properties), {
      drMode: "string",
      drPhase: "string?",
      incidentId: "string?",
      liveServerName: "string",
      liveServerFqdn: "string",
      geoServerName: "string?",
      ptrServerName: "string?",
      ptrServerFqdn: "string?",
      restoreTimeUtc: "string?",
      restoreTimeLocal: "string?",
      timeZone: "string",
      maintenance: "boolean",
      temporaryUrl: "string?",
      requiredApprovers: "number",
      replicas: "map<number>",
      nightlyBackupSuspended: "boolean",
      recoveryJobs: "list<string>",
      troubleshootPod: "string?",
      psqlPtr: "string?",
      psqlLive: "string?",
      inspectReport: "string?",
      nextStep: "string",
    });
  });
});

/** `<type> <name>` in the order PlanResult lists resources: by name, then type. */
function byNameThenType(a: string, b: string): number {
  const [ta, na] = a.split(" ") as [string, string];
  const [tb, nb] = b.split(" ") as [string, string];
  return na === nb ? (ta < tb ? -1 : 1) : na < nb ? -1 : 1;
}

/** The staging stack's settings as the component's args: the stack file's keys are the args, as they are. */
const stagingArgs = (sets: readonly string[] = []): ServiceRecoveryArgs =>
  stackRaw("staging", sets) as unknown as ServiceRecoveryArgs;

interface FacadeRun {
  readonly mocks: RecordingMocks;
  readonly parents: Record<string, string>;
  readonly result: Promise<PlanResult>;
}

/** Constructs the package's component under the mock runtime, with luxon's clock pinned at NOW. */
function construct(name: string, args: ServiceRecoveryArgs): FacadeRun {
  const mocks = new RecordingMocks({ now: NOW });
  const parents: Record<string, string> = {};
  const note = mocks.noteRegistration.bind(mocks);
  mocks.noteRegistration = (req: RegisterResourceRequest): void => {
    parents[`${req.getType()} ${req.getName()}`] = req.getParent();
    note(req);
  };
  const result = runProgram({}, [], NOW, {
    mocks,
    stack: "team",
    program: () => {
      const r = new ServiceRecovery(name, args);
      const outputs = Object.fromEntries(
        Object.entries(r).filter(([k, v]) => k !== "urn" && pulumi.Output.isInstance(v)),
      );
      return Promise.resolve(outputs);
    },
  });
  return { mocks, parents, result };
}

describe("component package: constructed from plain args", function () {
  this.timeout(60_000);
  const realNow = Settings.now;
  before(() => {
    // The component reads the real clock (DateTime.utc()); the stack runs it is compared with are pinned at NOW.
    Settings.now = () => NOW.toMillis();
  });
  after(() => {
    Settings.now = realNow;
  });

  it("declares what the staging stack declares for the same settings, under the package's component", async () => {
    const run = construct("itt-mentor-services-staging", stagingArgs());
    const [facade, stack] = await Promise.all([run.result, declareStack("staging")]);
    const names = (p: PlanResult): string[] => p.resources.map((r) => `${r.type} ${r.name}`);
    assert.deepStrictEqual(
      names(facade),
      [...names(stack), `${PACKAGE_TYPE} itt-mentor-services-staging`].sort(byNameThenType),
    );
    // The same inputs, resource for resource.
    const inputs = (p: PlanResult) => p.resources.filter((r) => r.type !== PACKAGE_TYPE).map((r) => r.inputs);
    assert.deepStrictEqual(inputs(facade), inputs(stack));
    // The recovery component is the package component's child; the package component is the stack's.
    assert.match(
      run.parents["service-dr:index:ServiceRecovery itt-mentor-services-staging"]!,
      /::service-recovery:index:ServiceRecovery::itt-mentor-services-staging$/,
    );
    assert.equal(run.parents[`${PACKAGE_TYPE} itt-mentor-services-staging`], "");
  });

  it("outputs the stack's outputs, with absent for the stack's null", async () => {
    const sets = ["drMode=ptr", "incidentId=inc-7", "ptr.restoreTime=2026-11-24T08:05:00", "drPhase=restore"];
    const [facade, stack] = await Promise.all([
      construct("itt-mentor-services-staging", stagingArgs(sets)).result,
      declareStack("staging", sets),
    ]);
    const expected = Object.fromEntries(
      Object.entries(stack.outputs).filter(([k, v]) => v !== null && k !== "levers"),
    );
    assert.deepStrictEqual(facade.outputs, expected);
    assert.equal(facade.outputs.ptrServerName, "s189t01-ittms-stg-pg-ptr");
  });

  it("refuses bad args with a ConfigError naming every problem, and declares nothing", async () => {
    const args = stagingArgs();
    const bad = {
      ...args,
      drMode: "ptr",
      postgres: { ...args.postgres, version: "12" },
      kubernetes: { ...args.kubernetes, deployments: { web: { name: "Web", replicas: -1 } } },
    };
    const run = construct("svc", bad);
    const err = await run.result.then(
      () => assert.fail("constructed"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(err instanceof pulumi.RunError);
    assert.deepStrictEqual(err.problems, [
      'postgres.version: must be one of: 13, 14, 15, 16, 17, 18; received "12"',
      `kubernetes.deployments.web.name: must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending alphanumeric; received "Web"`,
      "kubernetes.deployments.web.replicas: must be a whole number ≥ 0; received -1",
      "incidentId: is required when drMode is ptr (it names this incident's Jobs and the databases the restore keeps); allowed: 1–20 lowercase letters, digits and hyphens; received nothing. Set it with: pulumi config set incidentId inc-20261125-1000",
    ]);
    assert.deepStrictEqual(run.mocks.calls, []);
  });

  it("refuses an Output among the args by its key: the plan needs the value before anything is declared", async () => {
    const args = stagingArgs();
    const bad = { ...args, github: { ...args.github, repository: pulumi.secret("itt-mentor-services") } };
    const run = construct("svc", bad as unknown as ServiceRecoveryArgs);
    const err = await run.result.then(
      () => assert.fail("constructed"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError, String(err));
    assert.deepStrictEqual(err.problems, [
      "github.repository: must be a plain value known when the program runs (the plan is computed from it), not a secret or another resource's output; received an Output",
    ]);
    assert.deepStrictEqual(run.mocks.calls, []);
  });
});
