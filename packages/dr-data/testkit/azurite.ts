/**
 * Azurite's blob service on 127.0.0.1 for tests, the benchmark and the drill, from the project's own
 * node_modules. In memory by default; with `location` it persists to a directory, so `stop()` then
 * `restart()` shows what a real outage leaves behind (committed blobs survive, uncommitted blocks stay
 * invisible).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import type { BlobStoreSettings } from "../src/blobstore";
import { trackChild } from "./children";
import { freePort } from "./postgres";

/** Azurite's well-known development account. */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteOptions {
  /** Persist here instead of in memory. */
  readonly location?: string;
  /** Default: a free port. */
  readonly port?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A timer that does not keep the process alive (for races against a child's exit). */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export class Azurite {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly location: string | undefined,
  ) {}

  static async start(o: AzuriteOptions = {}): Promise<Azurite> {
    const a = new Azurite(o.port ?? (await freePort()), o.location);
    await a.launch();
    return a;
  }

  get connectionString(): string {
    return (
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${this.port}/${AZURITE_ACCOUNT};`
    );
  }

  /** The tool's store settings for a container, with a short retry policy so an outage fails fast. */
  store(
    container: string,
    retry: BlobStoreSettings["retry"] = { maxTries: 2, retryDelayInMs: 200, tryTimeoutInMs: 30_000 },
  ): BlobStoreSettings {
    return { container, connectionString: this.connectionString, retry };
  }

  /** Environment for the CLI (`AZURE_STORAGE_CONNECTION_STRING`). */
  env(): Record<string, string> {
    return { AZURE_STORAGE_CONNECTION_STRING: this.connectionString };
  }

  async createContainer(name: string): Promise<void> {
    await BlobServiceClient.fromConnectionString(this.connectionString)
      .getContainerClient(name)
      .createIfNotExists();
  }

  private async launch(): Promise<void> {
    const main = require.resolve("azurite/dist/src/blob/main.js");
    const argv = [
      main,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(this.port),
      "--skipApiVersionCheck",
      "--silent",
      "--loose",
      "--disableTelemetry",
    ];
    if (this.location === undefined) {
      argv.push("--inMemoryPersistence");
    } else {
      mkdirSync(this.location, { recursive: true });
      argv.push("--location", this.location);
    }
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "ignore", "pipe"], cwd: this.location });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    this.child = child;
    this.exited = trackChild(child, "SIGKILL");
    const deadline = Date.now() + 30_000;
    while (!(await canConnect(this.port))) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`azurite exited during start: ${stderr}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`azurite did not listen on ${this.port} within 30 s: ${stderr}`);
      }
      await sleep(50);
    }
  }

  /** Graceful stop (SIGTERM: Azurite saves its metadata), then SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const done = await Promise.race([this.exited.then(() => true), unrefSleep(10_000).then(() => false)]);
    if (!done) {
      child.kill("SIGKILL");
      await this.exited;
    }
  }

  /** Start again on the same port (and location). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }
}
