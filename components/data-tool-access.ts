import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { DataPathPlan } from "../plan-data";
import { PASSWORD_KEY, STORAGE_KEY } from "./data-tool-pod";

export interface DataToolAccessArgs {
  readonly plan: DataPathPlan;
  /** The server administrator's password (a Pulumi secret). */
  readonly databasePassword: pulumi.Input<string>;
  /** The backup storage account's connection string (a Pulumi secret). */
  readonly storageConnectionString: pulumi.Input<string>;
}

/**
 * The credentials the data tool's pods read: Kubernetes Secrets made from Pulumi secrets, so a password never
 * appears in a Job spec, a command line or a log.
 */
export class DataToolAccess extends pulumi.ComponentResource {
  public readonly databaseCredentials: k8s.core.v1.Secret;
  public readonly storageCredentials: k8s.core.v1.Secret;

  constructor(name: string, args: DataToolAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:DataToolAccess", name, {}, opts);
    const p = args.plan;
    this.databaseCredentials = new k8s.core.v1.Secret(
      `${name}-database`,
      {
        metadata: { name: p.credentialsSecretName, namespace: p.namespace },
        type: "Opaque",
        stringData: { [PASSWORD_KEY]: args.databasePassword },
      },
      { parent: this },
    );
    this.storageCredentials = new k8s.core.v1.Secret(
      `${name}-storage`,
      {
        metadata: { name: p.storageSecretName, namespace: p.namespace },
        type: "Opaque",
        stringData: { [STORAGE_KEY]: args.storageConnectionString },
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}
