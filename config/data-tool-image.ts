/**
 * The data tool's image as the stacks must name it: the project's registry path (packages/dr-data/image.json,
 * where the release workflow publishes) by digest. A tag can be moved to other content after review; a digest
 * names exactly the image the workflow built, smoke-tested, scanned and signed. Read by the config (which
 * refuses any other reference) and by the policy pack (which refuses any other image in a data tool pod and the
 * unpublished placeholder in a real deployment).
 */
import image from "../packages/dr-data/image.json";

/** `ghcr.io/<owner>/service-dr-data`: the one repository the release workflow pushes to. */
export const DATA_TOOL_REPOSITORY: string = image.repository;
/** The PostgreSQL client major the image carries (its Dockerfile's PG_MAJOR): pg_dump dumps every older server. */
export const DATA_TOOL_CLIENT_MAJOR: number = image.postgresClientMajor;
/**
 * The digest the stacks carry until the first image is published: a well-formed reference that names no image.
 * The config accepts it (the offline plan and the tests run on the committed stacks); the policy pack refuses it,
 * so no real preview or up can deploy it. The release workflow's pull request replaces it.
 */
export const UNPUBLISHED_DIGEST = `sha256:${"0".repeat(64)}`;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const BY_DIGEST = `${DATA_TOOL_REPOSITORY}@sha256:<64 hex digits>`;

/** Why `ref` is not the project's image by digest (what is allowed), or undefined when it is. */
export function dataToolImageProblem(ref: string): string | undefined {
  const at = ref.indexOf("@");
  const name = at < 0 ? ref : ref.slice(0, at);
  const repository = name.replace(/:[^/:]+$/, "");
  if (repository !== DATA_TOOL_REPOSITORY)
    return `must be the data tool's image from the project's registry path, by digest: ${BY_DIGEST} (the release-image workflow publishes it there)`;
  if (at < 0 || name !== DATA_TOOL_REPOSITORY || !DIGEST.test(ref.slice(at + 1)))
    return `must name ${DATA_TOOL_REPOSITORY} by digest, ${BY_DIGEST} (from the release-image workflow's pull request), not by tag: a tag can be moved to other content`;
  return undefined;
}

/** Whether `ref` is the placeholder the stacks carry before the first image is published. */
export function isUnpublishedImage(ref: string): boolean {
  return ref === `${DATA_TOOL_REPOSITORY}@${UNPUBLISHED_DIGEST}`;
}
