/**
 * `npm run new-service -- --service <slug> --code <short code> --public-host <host> [options]`: writes a
 * service's two stack files (`Pulumi.<slug>-staging.yaml`, `Pulumi.<slug>-production.yaml`), importing the shared ESC environments for everything the environment's services share. The files
 * are validated with the program's own config rules (and against the other stacks' names) before anything is
 * written: on a problem, every problem is printed and nothing is written. Then it prints what to set up once.
 * docs/add-a-service.md describes it.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import * as path from "node:path";
import { DateTime } from "luxon";
import { UsageError } from "@service-dr/dr-data";
import { ConfigError, parseConfig, readRawConfig } from "../../config";
import { declarationProblems, loadStackConfig, serializeConfig } from "../offline/stack-config";
import { listStacks } from "./status";

/** What differs between the environments, by the reference service's conventions (its stack files). */
export const ENVIRONMENTS = {
  staging: {
    esc: "service-dr/staging",
    azurePrefix: "s189t01",
    short: "stg",
    clusterDomain: "test.teacherservices.cloud",
  },
  production: {
    esc: "service-dr/production",
    azurePrefix: "s189p01",
    short: "pd",
    clusterDomain: "teacherservices.cloud",
  },
} as const;
export type EnvironmentName = keyof typeof ENVIRONMENTS;

interface ServerSize {
  readonly sku: string;
  readonly tier: string;
  readonly storageGb: number;
}

export interface NewService {
  readonly service: string;
  readonly code: string;
  readonly publicHost: string;
  /** The mailbox the service's alerts go to (alerts.emails.on-call, both environments). */
  readonly onCall: string;
  readonly repository: string;
  readonly namespace: string;
  readonly database: string;
  readonly worker: boolean;
  readonly port: number;
  readonly sizes: Readonly<Record<EnvironmentName, ServerSize>>;
}

export const USAGE = `usage: npm run new-service -- --service <slug> --code <short code> --public-host <host> [options]
  --service <slug>          lowercase, e.g. school-visits: stacks <slug>-staging and <slug>-production,
                            Kubernetes names <slug>-<environment>
  --code <short code>       2-8 lowercase letters/digits, e.g. schvis: Azure names s189t01-<code>-stg-pg, …
  --public-host <host>      the production public host; staging's is staging.<host>
  --on-call <email>         the mailbox the service's backup and Job alerts go to (both environments)
  --repository <name>       the GitHub repository (default: the slug)
  --namespace <base>        Kubernetes namespace <base>-<environment> (default: the slug)
  --database <base>         PostgreSQL database <base>_<environment> (default: the slug with _)
  --worker                  the service also has a worker deployment (<slug>-<environment>-worker)
  --port <n>                the app's Service port (default 80)
  --staging-size <sku>/<tier>/<GiB>      default Standard_B1ms/Burstable/32
  --production-size <sku>/<tier>/<GiB>   default Standard_D2ds_v5/GeneralPurpose/128`;

const VALUE_FLAGS = [
  "--service",
  "--code",
  "--public-host",
  "--on-call",
  "--repository",
  "--namespace",
  "--database",
  "--port",
  "--staging-size",
  "--production-size",
] as const;

export function parseNewServiceArgs(argv: readonly string[]): NewService {
  const given = new Map<string, string>();
  let worker = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? "";
    if (flag === "--worker") worker = true;
    else if ((VALUE_FLAGS as readonly string[]).includes(flag)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`${flag} needs a value`);
      given.set(flag, value);
    } else throw new UsageError(`unknown argument ${JSON.stringify(flag)}`);
  }
  const required = (flag: string): string => {
    const v = given.get(flag);
    if (v === undefined) throw new UsageError(`${flag} is required`);
    return v;
  };
  const service = matching(
    required("--service"),
    /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/,
    "--service",
    "a lowercase slug",
  );
  const code = matching(required("--code"), /^[a-z0-9]{2,8}$/, "--code", "2-8 lowercase letters or digits");
  const port = Number(given.get("--port") ?? "80");
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--port must be 1-65535; received ${JSON.stringify(given.get("--port"))}`);
  }
  return {
    service,
    code,
    publicHost: required("--public-host"),
    onCall: required("--on-call"),
    repository: given.get("--repository") ?? service,
    namespace: given.get("--namespace") ?? service,
    database: given.get("--database") ?? service.replace(/-/g, "_"),
    worker,
    port,
    sizes: {
      staging: size(given.get("--staging-size") ?? "Standard_B1ms/Burstable/32", "--staging-size"),
      production: size(
        given.get("--production-size") ?? "Standard_D2ds_v5/GeneralPurpose/128",
        "--production-size",
      ),
    },
  };
}

function matching(value: string, re: RegExp, flag: string, what: string): string {
  if (!re.test(value)) throw new UsageError(`${flag} must be ${what}; received ${JSON.stringify(value)}`);
  return value;
}

function size(text: string, flag: string): ServerSize {
  const m = /^([A-Za-z0-9_]+)\/([A-Za-z]+)\/(\d+)$/.exec(text);
  if (m === null)
    throw new UsageError(`${flag} must be <sku>/<tier>/<GiB>; received ${JSON.stringify(text)}`);
  return { sku: m[1] ?? "", tier: m[2] ?? "", storageGb: Number(m[3]) };
}

/** The stack name of `service` in `env`. */
export function stackName(service: string, env: EnvironmentName): string {
  return `${service}-${env}`;
}

/** The text of one stack file: only what is the service's own; the rest comes from the environment. */
export function stackFileText(s: NewService, env: EnvironmentName): string {
  const e = ENVIRONMENTS[env];
  const base = `${s.service}-${env}`;
  const server = `${e.azurePrefix}-${s.code}-${e.short}-pg`;
  const host = env === "production" ? s.publicHost : `staging.${s.publicHost}`;
  const size = s.sizes[env];
  const worker = s.worker ? [`      worker:`, `        name: ${base}-worker`, `        replicas: 1`] : [];
  return [
    `# ${env} stack of ${s.service}, written by npm run new-service (docs/add-a-service.md). What every ${env}`,
    `# service shares comes from the ESC environment ${e.esc}; this file holds the service's own.`,
    `environment:`,
    `  - ${e.esc}`,
    `config:`,
    `  service-dr:drMode: none`,
    `  service-dr:azure:`,
    `    resourceGroup: ${e.azurePrefix}-${s.code}-${e.short}-rg`,
    `  service-dr:postgres:`,
    `    serverName: ${server}`,
    `    version: "16"`,
    `    sku:`,
    `      name: ${size.sku}`,
    `      tier: ${size.tier}`,
    `    storageSizeGb: ${size.storageGb}`,
    `    entraAdmin:`,
    `      objectId: 00000000-0000-0000-0000-000000000000 # placeholder: az ad group show --group ${server}-admins --query id`,
    `      displayName: ${server}-admins`,
    `    databases:`,
    `      ${s.database}_${env}: {}`,
    `    appDatabase: ${s.database}_${env}`,
    `  service-dr:kubernetes:`,
    `    namespace: ${s.namespace}-${env}`,
    `    service: ${base}`,
    `    deployments:`,
    `      web:`,
    `        name: ${base}`,
    `        replicas: ${env === "production" ? 2 : 1}`,
    ...worker,
    `    app:`,
    `      serviceName: ${base}`,
    `      port: ${s.port}`,
    `    publicHost: ${host}`,
    `    temporaryHost: ${base}-temp.${e.clusterDomain}`,
    `    tlsSecretName: cert-secret`,
    `  service-dr:github:`,
    `    repository: ${s.repository}`,
    `  service-dr:backup:`,
    `    storageAccountName: ${e.azurePrefix}${s.code}dbbkpsa`,
    `  service-dr:alerts:`,
    `    emails:`,
    `      on-call: ${s.onCall}`,
    ``,
  ].join("\n");
}

/**
 * Every file the service gets, by path relative to the project: its stack files. Nothing else: the policy config,
 * the GitHub environments, their federated credentials and the workflows are its environment's (README,
 * "Operating from GitHub").
 */
export function serviceFiles(s: NewService): Map<string, string> {
  const files = new Map<string, string>();
  for (const env of Object.keys(ENVIRONMENTS) as EnvironmentName[])
    files.set(`Pulumi.${stackName(s.service, env)}.yaml`, stackFileText(s, env));
  return files;
}

/**
 * Every problem with `files` as they would be committed to `projectDir`: a stack that exists already, what the
 * CLI and the program's config rules refuse, and a server, storage account or namespace/service another stack
 * uses. Checked on a copy of the project; `projectDir` is not touched.
 */
export function problemsOf(projectDir: string, files: ReadonlyMap<string, string>, now: DateTime): string[] {
  const problems: string[] = [];
  for (const file of files.keys()) {
    if (existsSync(path.join(projectDir, file))) problems.push(`${file} exists already`);
  }
  if (problems.length > 0) return problems;
  const existing = listStacks(projectDir).map((stack) => ({ stack, names: namesOf(projectDir, stack) }));
  const copy = mkdtempSync(path.join(os.tmpdir(), "new-service-"));
  try {
    cpSync(path.join(projectDir, "Pulumi.yaml"), path.join(copy, "Pulumi.yaml"));
    cpSync(path.join(projectDir, "environments"), path.join(copy, "environments"), { recursive: true });
    for (const [file, text] of files) {
      mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      writeFileSync(path.join(copy, file), text);
    }
    for (const stack of listStacks(copy)) {
      const invalid = configProblems(copy, stack, now);
      problems.push(...invalid.map((p) => `Pulumi.${stack}.yaml: ${p}`));
      if (invalid.length > 0) continue;
      for (const [what, name] of namesOf(copy, stack)) {
        const other = existing.find((e) => e.names.some(([w, n]) => w === what && n === name));
        if (other !== undefined)
          problems.push(`Pulumi.${stack}.yaml: ${what} ${name} is stack ${other.stack}'s`);
      }
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  return problems;
}

/** What the CLI (declarations) and the program (its config rules at `now`) would refuse. */
function configProblems(projectDir: string, stack: string, now: DateTime): string[] {
  const loaded = loadStackConfig(projectDir, stack);
  const declared = declarationProblems(loaded, loaded.values);
  if (declared.length > 0) return declared;
  const { raw, problems } = readRawConfig(serializeConfig(loaded.values));
  try {
    parseConfig(raw, now, problems);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
}

/** The names two stacks must not share: Azure DNS names, and the Kubernetes objects' namespace and base. */
function namesOf(projectDir: string, stack: string): Array<[string, string]> {
  const { raw } = readRawConfig(serializeConfig(loadStackConfig(projectDir, stack).values));
  const pg = raw.postgres as { serverName?: string } | undefined;
  const k8s = raw.kubernetes as { namespace?: string; service?: string } | undefined;
  const backup = raw.backup as { storageAccountName?: string } | undefined;
  return [
    ["postgres.serverName", pg?.serverName],
    ["backup.storageAccountName", backup?.storageAccountName],
    ["kubernetes namespace/service", `${k8s?.namespace ?? ""}/${k8s?.service ?? ""}`],
  ].filter((e): e is [string, string] => e[1] !== undefined);
}

/** What the service's team and the platform set up once, outside these files. */
export function setUpOnce(s: NewService): string {
  const stacks = (Object.keys(ENVIRONMENTS) as EnvironmentName[]).map((env) => stackName(s.service, env));
  return [
    `Set up once (docs/add-a-service.md):`,
    `  1. Replace the placeholder postgres.entraAdmin.objectId in each stack file with the id of its administrators'`,
    `     Entra group (az ad group create --display-name <displayName> --mail-nickname <displayName>).`,
    `  2. Once each backup account's blob private endpoint exists, list its address in`,
    `     kubernetes.dataEgress.storageCidrs (pulumi config set --path 'kubernetes.dataEgress.storageCidrs[0]' <ip>/32).`,
    `  3. Create the stacks in Pulumi Cloud: ${stacks.map((st) => `pulumi stack init <org>/${st}`).join("; ")}.`,
    `  4. Existing resources (the live server, the public ingress, the branch protection of ${s.repository}):`,
    `     adopt them before the first pulumi up (docs/runbook.md, "Adopting existing resources").`,
    `  5. Preview: npm run plan -- --stack ${stacks[0] ?? ""}, then open a pull request with these files.`,
    ``,
  ].join("\n");
}

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export function main(argv: readonly string[], io: Io, projectDir: string, now: DateTime): number {
  let service: NewService;
  try {
    service = parseNewServiceArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`new-service: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  const files = serviceFiles(service);
  const problems = problemsOf(projectDir, files, now);
  if (problems.length > 0) {
    io.err(
      `new-service: nothing written; ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}\n`).join("")}`,
    );
    return 1;
  }
  for (const [file, text] of files) writeFileSync(path.join(projectDir, file), text);
  io.out(`Wrote ${[...files.keys()].join(", ")}.\n${setUpOnce(service)}`);
  return 0;
}

if (require.main === module) {
  process.exitCode = main(
    process.argv.slice(2),
    { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) },
    path.resolve(__dirname, "..", ".."),
    DateTime.utc(),
  );
}
