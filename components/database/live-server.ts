import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as dbforpostgresql from "@pulumi/azure-native/dbforpostgresql";
import type { LiveServerPlan } from "../../plan";

export interface LiveServerArgs {
  /** The live server as planned: settings, databases, parameters and how it is created if missing. */
  readonly plan: LiveServerPlan;
  /**
   * A geo-restore in progress (`rebuild.from=geo`): the new server GeoRestore creates in the paired region,
   * declared beside the live server (which stays declared exactly as before).
   */
  readonly geo?: LiveServerPlan | undefined;
  /**
   * The Microsoft Entra tenant of the administrators (the subscription's): a managed identity's `tenantId`.
   * The servers accept Entra logins only: no password exists.
   */
  readonly tenantId: pulumi.Input<string>;
  /**
   * Principals made administrators beside the group (`plan.entraAdmin`), by a short key that names the
   * resource (`<server>-entra-admin-<key>`): the recovery identity while an incident is open.
   */
  readonly extraAdmins: Readonly<Record<string, EntraPrincipal>>;
}

export interface EntraPrincipal {
  /** The principal's object id (a managed identity's principalId): unknown until the identity exists. */
  readonly objectId: pulumi.Input<string>;
  /** Its name, which is also the PostgreSQL role it logs in as. */
  readonly principalName: string;
  readonly principalType: "ServicePrincipal" | "User" | "Group";
}

/** One flexible server with its databases and parameters, children of the component. */
interface DeclaredServer {
  readonly server: dbforpostgresql.Server;
  readonly administrator: dbforpostgresql.AdministratorsMicrosoftEntra;
  readonly extraAdmins: Readonly<Record<string, dbforpostgresql.AdministratorsMicrosoftEntra>>;
  readonly lock: authorization.ManagementLockByScope;
  readonly databases: Readonly<Record<string, dbforpostgresql.Database>>;
  readonly parameters: Readonly<Record<string, dbforpostgresql.Configuration>>;
}

/**
 * The live Azure Database for PostgreSQL flexible server, its databases and server parameters — and, during a
 * geo-restore, the geo-restored server with its own.
 *
 * The servers and their databases are `protect`ed: a `pulumi up` that would delete or replace them fails
 * instead of losing data. An existing server is adopted with `adopt.liveServer` (docs/runbook.md). The geo
 * server's children are named `<name>-geo-…` under this component, so that the switch-over (docs/runbook.md)
 * is a `pulumi state rename` of each to the live server's name.
 */
export class LiveServer extends pulumi.ComponentResource {
  public readonly server: dbforpostgresql.Server;
  /** The administrators group: the live server's standing (and only standing) administrator. */
  public readonly administrator: dbforpostgresql.AdministratorsMicrosoftEntra;
  /** The administrators beside the group (`extraAdmins`), by key. */
  public readonly extraAdmins: Readonly<Record<string, dbforpostgresql.AdministratorsMicrosoftEntra>>;
  /** `CanNotDelete` in Azure, besides `protect` in Pulumi. */
  public readonly lock: authorization.ManagementLockByScope;
  public readonly serverName: pulumi.Output<string>;
  public readonly serverId: pulumi.Output<string>;
  public readonly fqdn: pulumi.Output<string>;
  public readonly databases: Readonly<Record<string, dbforpostgresql.Database>>;
  public readonly parameters: Readonly<Record<string, dbforpostgresql.Configuration>>;
  /** The geo-restored server while `rebuild.from=geo`; undefined otherwise. */
  public readonly geoServer: dbforpostgresql.Server | undefined;
  public readonly geoFqdn: pulumi.Output<string> | undefined;

  constructor(name: string, args: LiveServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:LiveServer", name, {}, opts);
    const live = this.declare(name, args.plan, args);
    this.server = live.server;
    this.administrator = live.administrator;
    this.extraAdmins = live.extraAdmins;
    this.lock = live.lock;
    this.databases = live.databases;
    this.parameters = live.parameters;
    this.serverName = this.server.name;
    this.serverId = this.server.id;
    this.fqdn = this.server.fullyQualifiedDomainName.apply((f) => f ?? args.plan.fqdn);

    const geoPlan = args.geo;
    if (geoPlan !== undefined) {
      this.geoServer = this.declare(`${name}-geo`, geoPlan, args).server;
      this.geoFqdn = this.geoServer.fullyQualifiedDomainName.apply((f) => f ?? geoPlan.fqdn);
    }
    this.registerOutputs({
      serverName: this.serverName,
      serverId: this.serverId,
      fqdn: this.fqdn,
      geoFqdn: this.geoFqdn,
    });
  }

  /** One server and its children, declared in order: server, administrators, lock, databases, parameters. */
  private declare(prefix: string, p: LiveServerPlan, args: LiveServerArgs): DeclaredServer {
    const server = this.declareServer(prefix, p);
    const group: EntraPrincipal = {
      objectId: p.entraAdmin.objectId,
      principalName: p.entraAdmin.displayName,
      principalType: "Group",
    };
    // Named as the one Administrator was before (the SDK aliases that type to this one): the engine updates
    // the existing resource instead of deleting it; see declareAdministrator.
    const administrator = this.declareAdministrator(`${prefix}-entra-admin`, p, server, group, args.tenantId);
    const extraAdmins: Record<string, dbforpostgresql.AdministratorsMicrosoftEntra> = {};
    for (const [key, principal] of Object.entries(args.extraAdmins)) {
      extraAdmins[key] = this.declareAdministrator(
        `${prefix}-entra-admin-${key}`,
        p,
        server,
        principal,
        args.tenantId,
      );
    }
    const lock = this.declareLock(prefix, server);
    const databases = this.declareDatabases(prefix, p, server);
    const parameters = this.declareParameters(prefix, p, server);
    return { server, administrator, extraAdmins, lock, databases, parameters };
  }

  /** The flexible server itself: protected, adopted with `adopt.liveServer`, created as the plan says. */
  private declareServer(prefix: string, p: LiveServerPlan): dbforpostgresql.Server {
    const creation = p.creation;
    return new dbforpostgresql.Server(
      `${prefix}-server`,
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
        // Microsoft Entra logins only: no administratorLogin, no password anywhere (Azure needs the login only
        // when password authentication is enabled; docs/provider-facts.md). No tenantId: Azure uses the
        // subscription's tenant, and the server does not wait for (or depend on) an identity.
        authConfig: { activeDirectoryAuth: "Enabled", passwordAuth: "Disabled" },
        ...(creation.kind === "existing" ? {} : { createMode: creation.createMode }),
        ...(creation.kind === "revive" || creation.kind === "geo"
          ? { sourceServerResourceId: creation.sourceServerId, pointInTimeUTC: creation.pointInTimeUtc }
          : {}),
        // The same tag on the geo server: after the switch-over it is the live server, with no diff.
        tags: { "service-dr": "live" },
      },
      {
        parent: this,
        // The live server holds the only copy of the data — and so does the geo server once it exists: never
        // deleted or replaced by this program.
        protect: true,
        // adopt.liveServer: take over the existing server; the import fails (changing nothing) unless the
        // declared inputs match what exists.
        ...(p.adopt ? { import: p.id } : {}),
        // createMode, sourceServerResourceId and pointInTimeUTC are read by Azure only when the server is
        // created (rebuild mode; the geo server's pointInTimeUTC is "now" at every up). Ignoring later changes
        // lets the stack leave rebuild mode without a diff — and without a replacement, since
        // pointInTimeUTC/sourceServerResourceId are create-only fields.
        // administratorLogin is create-only too: a server created with a password keeps its login name for
        // life (the role stays, and cannot log in once password authentication is off). The program sends
        // none; ignoring it keeps an adopted or migrated password server from being "replaced" to drop it.
        ignoreChanges: ["createMode", "sourceServerResourceId", "pointInTimeUTC", "administratorLogin"],
      },
    );
  }

  /**
   * One Microsoft Entra administrator of the server (REST 2025-08-01, `…/administrators/{objectId}`). The
   * object id is the resource's name in Azure: a new principal is a replacement, which the engine does
   * create-then-delete (two URLs), so the server never has fewer administrators than it needs. The type
   * `dbforpostgresql:Administrator` (the 2025-01-01-preview resource) is among this type's SDK aliases, so a
   * stack that declared one under the same name is updated in place, not deleted and created again.
   */
  private declareAdministrator(
    name: string,
    p: LiveServerPlan,
    server: dbforpostgresql.Server,
    admin: EntraPrincipal,
    tenantId: pulumi.Input<string>,
  ): dbforpostgresql.AdministratorsMicrosoftEntra {
    return new dbforpostgresql.AdministratorsMicrosoftEntra(
      name,
      {
        serverName: server.name,
        resourceGroupName: p.resourceGroup,
        objectId: admin.objectId,
        principalName: admin.principalName,
        principalType: admin.principalType,
        tenantId,
      },
      { parent: this },
    );
  }

  /** `CanNotDelete` in Azure, besides `protect` in Pulumi. */
  private declareLock(prefix: string, server: dbforpostgresql.Server): authorization.ManagementLockByScope {
    return new authorization.ManagementLockByScope(
      `${prefix}-lock`,
      {
        scope: server.id,
        lockName: "service-dr-live-server-cannot-delete",
        level: "CanNotDelete",
        notes:
          "The live database server of service-dr: holds the only copy of the data. See docs/runbook.md.",
      },
      // Removing the lock is a deliberate, separate act (docs/runbook.md), never a side effect of an up.
      { parent: this, protect: true },
    );
  }

  /** The server's databases, protected like the server. */
  private declareDatabases(
    prefix: string,
    p: LiveServerPlan,
    server: dbforpostgresql.Server,
  ): Record<string, dbforpostgresql.Database> {
    const databases: Record<string, dbforpostgresql.Database> = {};
    for (const [dbName, db] of Object.entries(p.databases)) {
      databases[dbName] = new dbforpostgresql.Database(
        `${prefix}-db-${dbName}`,
        {
          databaseName: dbName,
          serverName: server.name,
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
    return databases;
  }

  /** The server parameters the plan overrides. */
  private declareParameters(
    prefix: string,
    p: LiveServerPlan,
    server: dbforpostgresql.Server,
  ): Record<string, dbforpostgresql.Configuration> {
    // Server parameters always exist (Azure has no create or delete for them): azure-native treats
    // Configuration as a singleton — "creating" one is a PUT of the value and deleting it resets the default —
    // so a revived or geo-restored server's parameters need no import.
    const parameters: Record<string, dbforpostgresql.Configuration> = {};
    for (const [param, value] of Object.entries(p.parameters)) {
      parameters[param] = new dbforpostgresql.Configuration(
        `${prefix}-param-${param}`,
        {
          configurationName: param,
          serverName: server.name,
          resourceGroupName: p.resourceGroup,
          value,
          source: "user-override",
        },
        { parent: this },
      );
    }
    return parameters;
  }
}
