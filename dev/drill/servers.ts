/**
 * The local stand-ins for what the program declares in Azure: a PostgreSQL server per declared host name, the
 * storage account on Azurite, and the roles Azure would make on each server.
 */
import { randomBytes } from "node:crypto";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { Azurite } from "@service-dr/dr-data/testkit/azurite";
import { PgCluster } from "@service-dr/dr-data/testkit/postgres";
import { quoteIdent } from "@service-dr/dr-data/sql";
import { connectionEnvNames, serverFqdn } from "@service-dr/dr-data";
import type { Cleanup } from "./cleanup";
import type { Declared } from "./declared";
import type { LocalTargets } from "./jobs";
import type { StepRecord } from "./timeline";

/** The bootstrap superuser of the local servers: stands in for the administrators group. */
export const LOCAL_ADMINS = "dr_drill_admins";

/** The nightly backup's PGUSER: the nightly identity, which the one-time setup lets read and nothing else. */
function nightlyLogin(d: Declared): string {
  const user = d.nightly.env.find((e) => e.name === connectionEnvNames("").user)?.value;
  if (user === undefined) throw new Error("the nightly backup declares no PGUSER");
  return user;
}

export class LocalServers {
  /** The local server standing in for each Azure host name. */
  readonly byHost = new Map<string, PgCluster>();
  readonly password = randomBytes(12).toString("hex");
  private azurite: Azurite | undefined;

  constructor(
    private readonly cleanup: Cleanup,
    /** Stands in for the Jobs' scratch volume. */
    readonly workDir: string,
  ) {}

  /** Azurite with the declared container; returns its port for the notes. */
  async startStorage(container: string): Promise<number> {
    const az = await Azurite.start();
    this.cleanup.add(() => az.stop());
    this.azurite = az;
    await az.createContainer(container);
    return az.port;
  }

  private running(): Azurite {
    if (this.azurite === undefined) throw new Error("Azurite is not running");
    return this.azurite;
  }

  container(name: string): ContainerClient {
    return BlobServiceClient.fromConnectionString(this.running().connectionString).getContainerClient(name);
  }

  store(container: string): ReturnType<Azurite["store"]> {
    return this.running().store(container);
  }

  /**
   * A server as Azure creates one: its administrator is the administrators group (a local superuser of that
   * name stands in), then the runbook's one-time setup gives the nightly identity its read-only login.
   */
  async startServer(d: Declared, s: StepRecord, o: { walArchiveDir?: string } = {}): Promise<PgCluster> {
    const pg = await PgCluster.start({ user: LOCAL_ADMINS, password: this.password, fast: false, ...o });
    this.cleanup.add(() => pg.stop());
    const nightly = nightlyLogin(d);
    await pg.query(`CREATE ROLE ${quoteIdent(nightly)} LOGIN PASSWORD '${this.password}'`);
    await pg.query(`GRANT pg_read_all_data TO ${quoteIdent(nightly)}`);
    s.notes.push(
      `one-time setup on the server at port ${pg.port}: login ${nightly} with pg_read_all_data only`,
    );
    return pg;
  }

  /**
   * Azure creates a managed identity's PostgreSQL role when it is made an Entra administrator of a server:
   * for each such administrator the program declares on a server the drill runs, a local role of its name
   * (SUPERUSER standing in for azure_pg_admin) — on the PTR copy too, which holds only the roles of its
   * restore time.
   */
  async declaredAdmins(s: StepRecord, d: Declared): Promise<void> {
    for (const a of d.entraAdmins) {
      const pg = this.byHost.get(serverFqdn(a.serverName));
      if (pg === undefined) continue;
      const found = await pg.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [a.principalName]);
      if (found.rows.length > 0) continue;
      await pg.query(
        `CREATE ROLE ${quoteIdent(a.principalName)} LOGIN SUPERUSER PASSWORD '${this.password}'`,
      );
      s.notes.push(
        `program declares ${a.principalName} an Entra administrator of ${a.serverName}: its role made there (SUPERUSER standing in for azure_pg_admin)`,
      );
    }
  }

  /** The local servers, Azurite, and the roles each server lets log in now. */
  async targets(): Promise<LocalTargets> {
    const storageConnectionString = this.running().connectionString;
    const logins = new Map<PgCluster, ReadonlySet<string>>();
    for (const pg of new Set(this.byHost.values())) {
      const rows = (await pg.query("SELECT rolname FROM pg_roles WHERE rolcanlogin")).rows as Array<{
        rolname: string;
      }>;
      logins.set(pg, new Set(rows.map((r) => r.rolname)));
    }
    return { servers: this.byHost, storageConnectionString, logins, workDir: this.workDir };
  }
}
