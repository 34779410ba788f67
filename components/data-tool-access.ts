import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { DataPathPlan } from "../plan-data";
import { PASSWORD_KEY } from "./data-tool-pod";

export interface DataToolAccessArgs {
  readonly plan: DataPathPlan;
  /** The server administrator's password (a Pulumi secret). */
  readonly databasePassword: pulumi.Input<string>;
}

/**
 * The standing credentials the data tool's pods may read — none in normal operation: storage and PostgreSQL
 * are reached with the managed identity (components/workload-identity.ts). Only the break-glass
 * `workloadIdentity.postgresAuth=password` declares a Secret with the administrator password (made from a
 * Pulumi secret, so it never appears in a Job spec, a command line or a log). There is never a Secret with a
 * storage key: the account refuses shared-key access.
 */
export class DataToolAccess extends pulumi.ComponentResource {
  public readonly databaseCredentials: k8s.core.v1.Secret | undefined;

  constructor(name: string, args: DataToolAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:DataToolAccess", name, {}, opts);
    const p = args.plan;
    if (p.identity.postgresAuth === "password") {
      this.databaseCredentials = new k8s.core.v1.Secret(
        `${name}-database`,
        {
          metadata: { name: p.credentialsSecretName, namespace: p.namespace },
          type: "Opaque",
          stringData: { [PASSWORD_KEY]: args.databasePassword },
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
