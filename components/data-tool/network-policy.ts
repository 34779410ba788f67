import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { DataNetworkPolicyPlan } from "../../plan";
import { PART_OF_LABEL } from "@service-dr/dr-data";

export interface DataNetworkPolicyArgs {
  readonly plan: DataNetworkPolicyPlan;
}

/** Private (RFC 1918) ranges: the "Entra" rule reaches only public addresses, never the cluster's network. */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

type Rule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/**
 * What the data tool's pods (the nightly backup, the recovery Jobs, the troubleshooting pod) may reach: DNS,
 * the servers, the backup storage and Microsoft Entra — and nothing may reach them. Vanilla NetworkPolicy
 * matches addresses and ports, not host names, so "Entra" is HTTPS to public addresses (docs/runbook.md says
 * what that leaves open); the servers and the storage are their private CIDRs from config. Enforced only where
 * the cluster runs a NetworkPolicy engine (AKS: Azure NPM, Calico or Cilium).
 */
export class DataNetworkPolicy extends pulumi.ComponentResource {
  public readonly policy: k8s.networking.v1.NetworkPolicy;

  constructor(name: string, args: DataNetworkPolicyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:DataNetworkPolicy", name, {}, opts);
    const p = args.plan;
    this.policy = new k8s.networking.v1.NetworkPolicy(
      `${name}-policy`,
      {
        metadata: {
          name: p.name,
          namespace: p.namespace,
          labels: { ...PART_OF_LABEL },
        },
        spec: {
          podSelector: { matchLabels: { ...p.podLabels } },
          // Both types with no ingress rule: no connection into the pods; egress only as listed.
          policyTypes: ["Ingress", "Egress"],
          ingress: [],
          egress: egressRules(p),
        },
      },
      { parent: this },
    );
    this.registerOutputs({});
  }
}

/** DNS, the servers, the storage, Entra: in this order. */
export function egressRules(p: DataNetworkPolicyPlan): Rule[] {
  const tcp = (port: number) => ({ protocol: "TCP", port });
  const rules: Rule[] = [
    {
      // The cluster's DNS (CoreDNS in kube-system, label k8s-app=kube-dns on AKS).
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
          podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
        },
      ],
      ports: [{ protocol: "UDP", port: 53 }, tcp(53)],
    },
    { to: p.postgresCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(5432)] },
  ];
  if (p.storageCidrs.length > 0)
    rules.push({ to: p.storageCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(443)] });
  // Microsoft Entra (token exchange, login.microsoftonline.com): public addresses only, HTTPS only.
  rules.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: [...PRIVATE_RANGES] } }], ports: [tcp(443)] });
  return rules;
}
