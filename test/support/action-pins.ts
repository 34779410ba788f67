/**
 * Every action the workflows use, in one table, so every workflow holds an action to the same reviewed commit:
 * the commit it is pinned to, the release tag that names it (`git rev-parse 'refs/tags/<tag>^{commit}'` in the
 * action's repository, read on 2026-12-07: docs/provider-facts.md, "GitHub Actions pins" and the release image's
 * table) and the inputs its action.yml declares at that commit. Dependabot moves the pins; its pull request must
 * move them here too, or the pin tests fail.
 */
export interface ActionPin {
  readonly sha: string;
  readonly version: string;
  readonly inputs: readonly string[];
}

export const ACTION_PINS: Readonly<Record<string, ActionPin>> = {
  "actions/attest-build-provenance": {
    sha: "a2bbfa25375fe432b6a289bc6b6cd05ecd0c4c32",
    version: "v4.1.0",
    inputs: ["push-to-registry", "subject-digest", "subject-name"],
  },
  "actions/checkout": {
    sha: "11d5960a326750d5838078e36cf38b85af677262",
    version: "v4.4.0",
    inputs: ["fetch-depth", "persist-credentials", "ref", "token"],
  },
  "actions/create-github-app-token": {
    sha: "d72941d797fd3113feb6b93fd0dec494b13a2547",
    version: "v1.12.0",
    inputs: [
      "app-id",
      "owner",
      "permission-administration",
      "permission-contents",
      "private-key",
      "repositories",
      "skip-token-revoke",
    ],
  },
  "actions/setup-node": {
    sha: "49933ea5288caeca8642d1e84afbd3f7d6820020",
    version: "v4.4.0",
    inputs: ["cache", "node-version"],
  },
  "aquasecurity/trivy-action": {
    // v0.35.0 and later: released after the March 2026 tag hijack of this repository, with immutable tags.
    sha: "ed142fd0673e97e23eac54620cfb913e5ce36c25",
    version: "v0.36.0",
    inputs: ["exit-code", "format", "ignore-unfixed", "image-ref", "scan-type", "severity", "version"],
  },
  "azure/aks-set-context": {
    sha: "c7eb093e5a5d47caa333f64974d5fd1cd4bf069d",
    version: "v4.0.3",
    inputs: [
      "admin",
      "cluster-name",
      "public-fqdn",
      "resource-group",
      "resource-type",
      "subscription",
      "use-kubelogin",
    ],
  },
  "azure/login": {
    sha: "7184910d9eb2b1c5e48f7073824a90609bb9b6d6",
    version: "v2.3.1",
    inputs: [
      "allow-no-subscriptions",
      "audience",
      "client-id",
      "environment",
      "subscription-id",
      "tenant-id",
    ],
  },
  "azure/use-kubelogin": {
    sha: "76597ae0fcbaace21b05e13a2cbf8daee2c6e820",
    version: "v1.2",
    inputs: ["kubelogin-version", "skip-cache"],
  },
  "docker/build-push-action": {
    sha: "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
    version: "v7.3.0",
    inputs: [
      "build-args",
      "cache-from",
      "cache-to",
      "context",
      "file",
      "labels",
      "load",
      "platforms",
      "provenance",
      "push",
      "sbom",
      "tags",
    ],
  },
  "docker/login-action": {
    sha: "4907a6ddec9925e35a0a9e82d7399ccc52663121",
    version: "v4.1.0",
    inputs: ["password", "registry", "username"],
  },
  "docker/setup-buildx-action": {
    sha: "37fe631027851001ddb9b187196cc803df7f5f0e",
    version: "v4.3.0",
    inputs: ["driver", "platforms", "version"],
  },
  "docker/setup-qemu-action": {
    sha: "96fe6ef7f33517b61c61be40b68a1882f3264fb8",
    version: "v4.2.0",
    inputs: ["image", "platforms"],
  },
  "pulumi/actions": {
    // Its inputs are checked apart, with the values they take (PULUMI_ACTION_INPUTS in workflows.test.ts).
    sha: "8582a9e8cc630786854029b4e09281acd6794b58",
    version: "v6.6.1",
    inputs: [],
  },
  "pulumi/auth-actions": {
    // The lifetime input is `token-expiration` (seconds, docs/provider-facts.md).
    sha: "1c89817aab0c66407723cdef72b05266e7376640",
    version: "v1.0.1",
    inputs: [
      "cloud-url",
      "export-environment-variables",
      "organization",
      "requested-token-type",
      "scope",
      "token-expiration",
    ],
  },
  "sigstore/cosign-installer": {
    sha: "6f9f17788090df1f26f669e9d70d6ae9567deba6",
    version: "v4.1.2",
    inputs: ["cosign-release", "install-dir"],
  },
};
