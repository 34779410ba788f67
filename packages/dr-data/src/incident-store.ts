/**
 * Writing an incident's reports to the blob store: small texts in one request, exports streamed in blocks.
 * A report is replaced by the next run of the same command (a new restore time redoes the inspection).
 */
import { PassThrough } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { PgConnection } from "./connection";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  md: "text/markdown; charset=utf-8",
  json: "application/json",
  csv: "text/csv; charset=utf-8",
};

function contentType(name: string): string {
  return CONTENT_TYPES[name.slice(name.lastIndexOf(".") + 1)] ?? "application/octet-stream";
}

/** Writes (or replaces) a small text blob. */
export async function putText(container: ContainerClient, name: string, text: string): Promise<void> {
  const bytes = Buffer.from(text, "utf8");
  try {
    await container
      .getBlockBlobClient(name)
      .upload(bytes, bytes.length, { blobHTTPHeaders: { blobContentType: contentType(name) } });
  } catch (cause) {
    throw new Error(`writing ${container.containerName}/${name}`, { cause });
  }
}

/**
 * A blob written as a stream: `write` waits while the upload's buffer is full (so a table is never held in
 * memory), `finish` commits it. 4 MiB blocks, 2 in flight.
 */
export class BlobWriter {
  private readonly stream = new PassThrough();
  private readonly upload: Promise<unknown>;
  private failure: unknown;

  constructor(
    private readonly container: ContainerClient,
    readonly name: string,
  ) {
    this.upload = container
      .getBlockBlobClient(name)
      .uploadStream(this.stream, 4 * 1024 * 1024, 2, {
        blobHTTPHeaders: { blobContentType: contentType(name) },
      })
      .catch((e: unknown) => {
        this.failure = e;
        this.stream.resume();
      });
  }

  async write(text: string): Promise<void> {
    if (this.failure !== undefined) throw this.wrapped(this.failure);
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => this.stream.once("drain", resolve));
    }
  }

  async finish(): Promise<void> {
    this.stream.end();
    await this.upload;
    if (this.failure !== undefined) throw this.wrapped(this.failure);
  }

  /** Abandons the blob: its staged blocks are never committed (Azure discards them), no partial file appears. */
  abort(cause: unknown): void {
    this.failure ??= cause;
    this.stream.destroy(cause instanceof Error ? cause : new Error(String(cause)));
  }

  private wrapped(cause: unknown): Error {
    return new Error(`writing ${this.container.containerName}/${this.name}`, { cause });
  }
}

/** What every look-before-you-restore report (inspect, reconcile) says about its run: the two sides and when. */
export interface SidesRun {
  /** The copy's restore point, when given. */
  readonly restoreTime: string | null;
  readonly copy: string;
  readonly live: string;
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** How a report names a side: `host:port/database` (never a credential). */
export function sideLabel(c: PgConnection): string {
  return `${c.host}:${c.port}/${c.database}`;
}

export function sidesRun(
  o: { readonly copy: PgConnection; readonly live: PgConnection; readonly restoreTime?: string | undefined },
  startedAt: string,
  finishedAt: string,
): SidesRun {
  return {
    restoreTime: o.restoreTime ?? null,
    copy: sideLabel(o.copy),
    live: sideLabel(o.live),
    startedAt,
    finishedAt,
  };
}

/** The report lines naming the copy, and when both sides were read. */
export function copyAndTakenLines(r: SidesRun): [string, string] {
  return [
    `- copy (the data at the restore point${r.restoreTime === null ? "" : `, ${r.restoreTime}`}): \`${r.copy}\``,
    `- taken: ${r.startedAt} – ${r.finishedAt} (UTC); each side read in one snapshot`,
  ];
}
