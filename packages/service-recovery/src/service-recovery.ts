/**
 * The recovery component as a Pulumi component package's resource: what a program in any Pulumi language
 * constructs after `pulumi package add` (README.md). Its args are the stack file's keys as plain values
 * (args.ts); it checks them with the stack's own rules (config/ `parseConfig`: every problem at once, before
 * anything is declared) and declares components/ ServiceRecovery as its only child, named like it, so the
 * resources are those a stack of this repository declares for the same settings.
 *
 * Schema inference (@pulumi/pulumi `provider/experimental/analyzer`) reads this class: it must extend
 * ComponentResource directly, have one constructor whose second parameter is named `args`, and every class
 * property becomes an output — hence only the outputs are properties.
 */
import * as pulumi from "@pulumi/pulumi";
import { DateTime } from "luxon";
import { ConfigError, parseConfig, warnIgnoredRetries, type StackConfig } from "../../../config";
import { ServiceRecovery as Recovery } from "../../../components";
import type { ServiceRecoveryArgs } from "./args";

/**
 * `<package>:index:<class>`: the package is package.json's name without its scope (how the plugin host names
 * it, @pulumi/pulumi cmd/run-plugin), and the component provider only constructs that token.
 */
export const PACKAGE_TYPE = "service-recovery:index:ServiceRecovery";

/**
 * The disaster recovery of one service (a web app on AKS, its Azure PostgreSQL flexible server, its GitHub
 * repository): every runbook step is a change of these arguments, then `pulumi up`.
 */
export class ServiceRecovery extends pulumi.ComponentResource {
  /** none | ptr | rebuild. */
  public readonly drMode: pulumi.Output<string>;
  /** isolate | restore | validate, during an incident. */
  public readonly drPhase: pulumi.Output<string | undefined>;
  public readonly incidentId: pulumi.Output<string | undefined>;
  /** The server holding the live data now: the geo server during a geo-restore. */
  public readonly liveServerName: pulumi.Output<string>;
  public readonly liveServerFqdn: pulumi.Output<string>;
  public readonly geoServerName: pulumi.Output<string | undefined>;
  public readonly ptrServerName: pulumi.Output<string | undefined>;
  public readonly ptrServerFqdn: pulumi.Output<string | undefined>;
  /** The PTR copy's restore point as Azure's UTC string, and as the wall clock of `timeZone`. */
  public readonly restoreTimeUtc: pulumi.Output<string | undefined>;
  public readonly restoreTimeLocal: pulumi.Output<string | undefined>;
  public readonly timeZone: pulumi.Output<string>;
  /** Whether the maintenance page is up. */
  public readonly maintenance: pulumi.Output<boolean>;
  public readonly temporaryUrl: pulumi.Output<string | undefined>;
  /** Approvals the default branch requires now (6 during a freeze). */
  public readonly requiredApprovers: pulumi.Output<number>;
  /** Replicas of each Deployment after this state's patches. */
  public readonly replicas: pulumi.Output<{ [id: string]: number }>;
  public readonly nightlyBackupSuspended: pulumi.Output<boolean>;
  /** The recovery Jobs' names, in the order they run. */
  public readonly recoveryJobs: pulumi.Output<string[]>;
  public readonly troubleshootPod: pulumi.Output<string | undefined>;
  public readonly psqlPtr: pulumi.Output<string | undefined>;
  public readonly psqlLive: pulumi.Output<string | undefined>;
  public readonly inspectReport: pulumi.Output<string | undefined>;
  /** The runbook's next step from this state: what to change, and the commands. */
  public readonly nextStep: pulumi.Output<string>;

  constructor(name: string, args: ServiceRecoveryArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before the component registers itself: a bad argument declares nothing, not even this.
    const now = DateTime.utc();
    const config = checkedConfig(args, now);
    super(PACKAGE_TYPE, name, {}, opts);
    const recovery = new Recovery(name, { config, now }, { parent: this });
    for (const warning of config.warnings) void pulumi.log.warn(warning, this);
    warnIgnoredRetries(config, recovery.plan);
    const out = recovery.outputs;
    this.drMode = pulumi.output(out.drMode);
    this.drPhase = orUndefined(out.drPhase);
    this.incidentId = orUndefined(out.incidentId);
    this.liveServerName = pulumi.output(out.liveServerName);
    this.liveServerFqdn = pulumi.output(out.liveServerFqdn);
    this.geoServerName = orUndefined(out.geoServerName);
    this.ptrServerName = orUndefined(out.ptrServerName);
    this.ptrServerFqdn = orUndefined(out.ptrServerFqdn);
    this.restoreTimeUtc = orUndefined(out.restoreTimeUtc);
    this.restoreTimeLocal = orUndefined(out.restoreTimeLocal);
    this.timeZone = pulumi.output(out.timeZone);
    this.maintenance = pulumi.output(out.maintenance);
    this.temporaryUrl = orUndefined(out.temporaryUrl);
    this.requiredApprovers = pulumi.output(out.requiredApprovers);
    this.replicas = pulumi.output(out.replicas).apply((r) => ({ ...r }));
    this.nightlyBackupSuspended = pulumi.output(out.nightlyBackupSuspended);
    this.recoveryJobs = pulumi.output(out.recoveryJobs).apply((jobs) => [...jobs]);
    this.troubleshootPod = orUndefined(out.troubleshootPod);
    this.psqlPtr = orUndefined(out.psqlPtr);
    this.psqlLive = orUndefined(out.psqlLive);
    this.inspectReport = orUndefined(out.inspectReport);
    this.nextStep = pulumi.output(out.nextStep);
    this.registerOutputs(outputsOf(this));
  }
}

/**
 * The args as a stack's config, checked by the stack's rules: throws config/ ConfigError (a pulumi.RunError)
 * naming every problem. A value that is an Output (a secret, or a value known only after another resource
 * exists) is refused by name: the plan is computed from the values before anything is declared.
 */
function checkedConfig(args: ServiceRecoveryArgs, now: DateTime): StackConfig {
  const outputKeys: string[] = [];
  const raw = plainValues(args, "", outputKeys) as Record<string, unknown>;
  const refused = outputKeys.map(
    (key) =>
      `${key}: must be a plain value known when the program runs (the plan is computed from it), not a secret or another resource's output; received an Output`,
  );
  try {
    return parseConfig(raw, now, refused);
  } catch (err) {
    if (!(err instanceof ConfigError) || outputKeys.length === 0) throw err;
    // An Output's key reads as unset to the rules: its "is required" would only repeat the refusal.
    const repeats = (p: string): boolean => outputKeys.some((k) => p.startsWith(`${k}: is required`));
    throw new ConfigError(err.problems.filter((p) => !repeats(p)));
  }
}

/** `value` with each Output left out and its key (as `pulumi config set --path` spells it) noted. */
function plainValues(value: unknown, key: string, outputKeys: string[]): unknown {
  if (pulumi.Output.isInstance(value)) {
    outputKeys.push(key);
    return undefined;
  }
  if (Array.isArray(value)) return value.map((v, i) => plainValues(v, `${key}[${i}]`, outputKeys));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, plainValues(v, key === "" ? k : `${key}.${k}`, outputKeys)]),
  );
}

/** The stack outputs' "none" is null; the schema's optional output is an absent one. */
function orUndefined<T>(value: pulumi.Input<T | null>): pulumi.Output<T | undefined> {
  return pulumi.output(value).apply((v) => (v === null ? undefined : (v as T)));
}

/** The outputs, as registered: the properties the schema lists (every Output of the class but its URN). */
function outputsOf(r: ServiceRecovery): pulumi.Inputs {
  return Object.fromEntries(Object.entries(r).filter(([k, v]) => k !== "urn" && pulumi.Output.isInstance(v)));
}
