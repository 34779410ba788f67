/**
 * The config fragment of the data path's identity (issue 13): how the recovery Jobs and the nightly backup
 * authenticate without a standing secret. Added to config.ts's schema as `workloadIdentity`.
 */
import { z } from "zod";

/** AKS's OIDC issuer: `https://<region>.oic.prod-aks.azure.com/<tenant>/<guid>/` (`az aks show --query oidcIssuerProfile.issuerUrl`). */
const ISSUER = /^https:\/\/[a-z0-9.-]+(?::\d+)?\/[^\s?#]*$/;

export const workloadIdentitySchema = z.strictObject({
  /** The cluster's OIDC issuer URL, which the managed identity's federated credential trusts. */
  oidcIssuerUrl: z.string({ error: "must be the AKS cluster's OIDC issuer URL (https://…)" }).regex(ISSUER, {
    error:
      "must be the AKS cluster's OIDC issuer URL (https://…, from az aks show --query oidcIssuerProfile.issuerUrl)",
  }),
  /**
   * How the Jobs log in to PostgreSQL: `entra` (default: the managed identity, an access token as password) or
   * `password` (break-glass: the administrator password from a Kubernetes Secret, e.g. if a restored copy comes
   * without Entra authentication). Blob storage is always reached with the identity (shared keys are off).
   */
  postgresAuth: z.enum(["entra", "password"], { error: "must be entra or password" }).default("entra"),
});

export type WorkloadIdentityConfig = z.output<typeof workloadIdentitySchema>;
