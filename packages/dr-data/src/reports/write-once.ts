/**
 * A report is evidence: written once (create-only, `If-None-Match: *`), never replaced. A second run of the
 * same report (the Job retried, the command run again by hand) finds it and goes by what was written first.
 */
import type { ContainerClient } from "@azure/storage-blob";
import { storageErrorCode } from "../errors";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  md: "text/markdown; charset=utf-8",
  json: "application/json",
};

/** Creates the blob; "exists" when it was already there (nothing is written then). */
export async function writeOnce(
  container: ContainerClient,
  name: string,
  text: string,
): Promise<"written" | "exists"> {
  const bytes = Buffer.from(text, "utf8");
  const ext = name.slice(name.lastIndexOf(".") + 1);
  try {
    await container.getBlockBlobClient(name).upload(bytes, bytes.length, {
      blobHTTPHeaders: { blobContentType: CONTENT_TYPES[ext] ?? "application/octet-stream" },
      conditions: { ifNoneMatch: "*" },
    });
    return "written";
  } catch (cause) {
    // Azure answers 409 BlobAlreadyExists to a PUT with If-None-Match: * on an existing blob; 412 is the
    // generic answer to a failed condition, taken as the same.
    const code = storageErrorCode(cause);
    if (code === "BlobAlreadyExists" || code === "ConditionNotMet") return "exists";
    throw new Error(`writing ${container.containerName}/${name}`, { cause });
  }
}
