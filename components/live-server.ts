import * as pulumi from "@pulumi/pulumi";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import type { LiveServerPlan } from "../plan";

export interface LiveServerArgs {
  /** The live server as planned: settings, databases, parameters and how it is created if missing. */
  readonly plan: LiveServerPlan;
  /** The administrator password (a Pulumi secret, set once with `pulumi config set --secret`). */
  readonly administratorPassword: pulumi.Input<string>;
}

/**
 * The live Azure Database for PostgreSQL flexible server, its databases and server parameters.
 *
 * The server and its databases are `protect`ed: a `pulumi up` that would delete or replace them fails instead
 * of losing data. An existing server is adopted with `adopt.liveServer` (docs/runbook.md).
 */
export class LiveServer extends pulumi.ComponentResource {
  public readonly server: dbforpostgresql.Server;
  public readonly serverName: pulumi.Output<string>;
  public readonly serverId: pulumi.Output<string>;
  public readonly fqdn: pulumi.Output<string>;
  public readonly databases: Readonly<Record<string, dbforpostgresql.Database>>;
  public readonly parameters: Readonly<Record<string, dbforpostgresql.Configuration>>;

  constructor(name: string, args: LiveServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:LiveServer", name, {}, opts);
    const p = args.plan;
    const creation = p.creation;

    this.server = new dbforpostgresql.Server(
      `${name}-server`,
      {
        serverName: p.name,
        resourceGroupName: p.resourceGroup,
        location: p.location,
        version: p.version,
        sku: { name: p.sku.name, tier: p.sku.tier },
        storage: { storageSizeGB: p.storageSizeGb, autoGrow: "Enabled" },
        // geoRedundantBackup is create-only: changing it would replace the server (refused by protect).
        backup: { backupRetentionDays: p.backupRetentionDays, geoRedundantBackup: p.geoRedundantBackup },
        highAvailability: p.highAvailability,
        // availabilityZone is create-only as well.
        ...(p.availabilityZone === undefined ? {} : { availabilityZone: p.availabilityZone }),
        network: {
          delegatedSubnetResourceId: p.network.delegatedSubnetId,
          privateDnsZoneArmResourceId: p.network.privateDnsZoneId,
          publicNetworkAccess: "Disabled",
        },
        // administratorLogin is create-only; the password can change at any time.
        administratorLogin: p.administratorLogin,
        administratorLoginPassword: args.administratorPassword,
        ...(creation.kind === "existing" ? {} : { createMode: creation.createMode }),
        ...(creation.kind === "revive" || creation.kind === "geo"
          ? { sourceServerResourceId: creation.sourceServerId, pointInTimeUTC: creation.pointInTimeUtc }
          : {}),
        tags: { "service-dr": "live" },
      },
      {
        parent: this,
        // The live server holds the only copy of the data: never deleted or replaced by this program.
        protect: true,
        // adopt.liveServer: take over the existing server; the import fails (changing nothing) unless the
        // declared inputs match what exists.
        ...(p.adopt ? { import: p.id } : {}),
        // createMode, sourceServerResourceId and pointInTimeUTC are read by Azure only when the server is
        // created (rebuild mode). Ignoring later changes lets the stack leave rebuild mode without a diff —
        // and without a replacement, since pointInTimeUTC/sourceServerResourceId are create-only fields.
        ignoreChanges: ["createMode", "sourceServerResourceId", "pointInTimeUTC"],
      },
    );

    const databases: Record<string, dbforpostgresql.Database> = {};
    for (const [dbName, db] of Object.entries(p.databases)) {
      databases[dbName] = new dbforpostgresql.Database(
        `${name}-db-${dbName}`,
        {
          databaseName: dbName,
          serverName: this.server.name,
          resourceGroupName: p.resourceGroup,
          charset: db.charset,
          collation: db.collation,
        },
        {
          parent: this,
          // A database holds data too: removing it from config must not drop it.
          protect: true,
          // An existing database is imported, not created (adopt.liveServer, or a revived/geo-restored server
          // that brought it back): azure-native refuses to create a database that already exists.
          ...(db.importId === undefined ? {} : { import: db.importId }),
        },
      );
    }
    this.databases = databases;

    // Server parameters always exist (Azure has no create or delete for them): azure-native treats
    // Configuration as a singleton — "creating" one is a PUT of the value and deleting it resets the default —
    // so a revived server's parameters need no import.
    const parameters: Record<string, dbforpostgresql.Configuration> = {};
    for (const [param, value] of Object.entries(p.parameters)) {
      parameters[param] = new dbforpostgresql.Configuration(
        `${name}-param-${param}`,
        {
          configurationName: param,
          serverName: this.server.name,
          resourceGroupName: p.resourceGroup,
          value,
          source: "user-override",
        },
        { parent: this },
      );
    }
    this.parameters = parameters;

    this.serverName = this.server.name;
    this.serverId = this.server.id;
    this.fqdn = this.server.fullyQualifiedDomainName.apply((f) => f ?? p.fqdn);
    this.registerOutputs({ serverName: this.serverName, serverId: this.serverId, fqdn: this.fqdn });
  }
}
