/**
 * The config fragment of the data path's identities: the cluster's OIDC issuer their federated credentials
 * trust (no standing secret; the servers accept Entra logins only). Added to the config schema (schema.ts) as
 * `workloadIdentity`.
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
});

export type WorkloadIdentityConfig = z.output<typeof workloadIdentitySchema>;
