/**
 * What a backup blob says about itself, as Azure blob metadata. Keys are lowercase (Azure returns them so);
 * values are ASCII (they travel as HTTP headers), so free text (server, database) is URI-encoded.
 * A blob without valid metadata is not a backup this tool made: `latest` skips it and `restore` refuses it.
 */
import { DUMP_FORMATS, type DumpFormat } from "./pgargs";

export interface BackupMetadata {
  /** Hex sha256 of the blob's bytes. */
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
  /** The logical source server (e.g. the Azure server name), or the host. */
  readonly sourceServer: string;
  readonly database: string;
  /** `SHOW server_version` of the source. */
  readonly serverVersion: string;
  /** `pg_dump --version`. */
  readonly pgDumpVersion: string;
  readonly format: DumpFormat;
  /** `pg_dump --compress`: how each file inside the archive is compressed. */
  readonly compress: string;
  /**
   * Directory format: the compressor the tool ran over the whole tar stream (`zstd:<level>`), undone by
   * `zstd -d` on restore; absent for a plain tar (an older tool's, or `streamCompress: "none"`).
   */
  readonly streamCompress?: StreamCompress | undefined;
  /** UTC, ISO 8601. */
  readonly startedAt: string;
  readonly endedAt: string;
  /**
   * Hex sha256 of the manifest blob (`<name>.manifest.json`, packages/dr-data/src/manifest.ts); absent for a backup taken with
   * `--no-manifest` or by an older version of the tool.
   */
  readonly manifestSha256?: string | undefined;
}

export const METADATA_VERSION = "dr-data/1";

/** The tool's own compression of a directory-format archive: `zstd:1` … `zstd:19`. */
export type StreamCompress = `zstd:${number}`;
export const STREAM_COMPRESS_PATTERN = /^zstd:(?:[1-9]|1[0-9])$/;

export function isStreamCompress(v: string): v is StreamCompress {
  return STREAM_COMPRESS_PATTERN.test(v);
}

export function toBlobMetadata(m: BackupMetadata): Record<string, string> {
  return {
    tool: METADATA_VERSION,
    sha256: m.sha256,
    size: String(m.size),
    sourceserver: encodeURIComponent(m.sourceServer),
    database: encodeURIComponent(m.database),
    serverversion: encodeURIComponent(m.serverVersion),
    pgdumpversion: encodeURIComponent(m.pgDumpVersion),
    format: m.format,
    compress: m.compress,
    startedat: m.startedAt,
    endedat: m.endedAt,
    ...(m.manifestSha256 === undefined ? {} : { manifestsha256: m.manifestSha256 }),
    ...(m.streamCompress === undefined ? {} : { streamcompress: m.streamCompress }),
  };
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

/** Reads the raw metadata's keys, collecting every problem in the order the keys are read. */
class MetadataReader {
  readonly problems: string[] = [];

  constructor(readonly m: Readonly<Record<string, string>>) {}

  need(key: string): string {
    const v = this.m[key];
    if (v === undefined || v === "") this.problems.push(`metadata ${key} is missing`);
    return v ?? "";
  }

  decode(key: string): string {
    const v = this.need(key);
    try {
      return decodeURIComponent(v);
    } catch {
      this.problems.push(`metadata ${key} is not URI-encoded: ${JSON.stringify(v)}`);
      return v;
    }
  }
}

/** The fields every backup's metadata has and whose form is checked: tool, sha256, size, format, times. */
function checkedFields(r: MetadataReader) {
  const { m, problems } = r;
  if (m.tool !== undefined && m.tool !== METADATA_VERSION) {
    problems.push(`metadata tool is ${JSON.stringify(m.tool)}, expected ${METADATA_VERSION}`);
  }
  r.need("tool");
  const sha256 = r.need("sha256");
  if (sha256 !== "" && !/^[0-9a-f]{64}$/.test(sha256)) problems.push(`metadata sha256 is not 64 hex digits`);
  const sizeText = r.need("size");
  const size = Number(sizeText);
  if (sizeText !== "" && (!/^\d+$/.test(sizeText) || !Number.isSafeInteger(size))) {
    problems.push(`metadata size is not a byte count: ${JSON.stringify(sizeText)}`);
  }
  const format = r.need("format");
  if (format !== "" && !(DUMP_FORMATS as readonly string[]).includes(format)) {
    problems.push(`metadata format must be one of ${DUMP_FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  }
  const startedAt = r.need("startedat");
  const endedAt = r.need("endedat");
  for (const [k, v] of [
    ["startedat", startedAt],
    ["endedat", endedAt],
  ] as const) {
    if (v !== "" && !ISO_UTC.test(v))
      problems.push(`metadata ${k} is not an ISO 8601 UTC time: ${JSON.stringify(v)}`);
  }
  return { sha256, size, format, startedAt, endedAt };
}

/** The optional fields: the manifest's sha256 and the directory format's stream compression. */
function optionalFields(
  r: MetadataReader,
  format: string,
): Pick<BackupMetadata, "manifestSha256" | "streamCompress"> {
  const { m, problems } = r;
  const manifestSha256 = m.manifestsha256;
  if (manifestSha256 !== undefined && !/^[0-9a-f]{64}$/.test(manifestSha256)) {
    problems.push(`metadata manifestsha256 is not 64 hex digits`);
  }
  const streamCompress = m.streamcompress;
  if (streamCompress !== undefined && !isStreamCompress(streamCompress)) {
    problems.push(`metadata streamcompress must be zstd:1 … zstd:19, got ${JSON.stringify(streamCompress)}`);
  }
  if (streamCompress !== undefined && format !== "directory") {
    problems.push(`metadata streamcompress is only used with the directory format, got format ${format}`);
  }
  return {
    ...(manifestSha256 === undefined ? {} : { manifestSha256 }),
    ...(streamCompress === undefined || !isStreamCompress(streamCompress) ? {} : { streamCompress }),
  };
}

/** The metadata, or a list of what is wrong with it. */
export function parseBlobMetadata(
  raw: Readonly<Record<string, string>> | undefined,
): { ok: true; value: BackupMetadata } | { ok: false; problems: string[] } {
  const r = new MetadataReader(raw ?? {});
  const { sha256, size, format, startedAt, endedAt } = checkedFields(r);
  const optional = optionalFields(r, format);
  const value: BackupMetadata = {
    sha256,
    size,
    sourceServer: r.decode("sourceserver"),
    database: r.decode("database"),
    serverVersion: r.decode("serverversion"),
    pgDumpVersion: r.decode("pgdumpversion"),
    format: format as DumpFormat,
    compress: r.need("compress"),
    startedAt,
    endedAt,
    ...optional,
  };
  return r.problems.length > 0 ? { ok: false, problems: r.problems } : { ok: true, value };
}
