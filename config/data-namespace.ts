/**
 * The data pods' namespace (`kubernetes.dataNamespace`): the nightly CronJob, the recovery Jobs, the
 * troubleshooting pod, their ServiceAccounts and their NetworkPolicy live there, apart from the app's namespace,
 * so that whoever may create pods in the app's namespace cannot run a pod as a data identity (a pod can only
 * use a ServiceAccount of its own namespace). Default `<kubernetes.namespace>-dr`.
 */
import { DNS1123_LABEL } from "@service-dr/dr-data";

export const DATA_NAMESPACE_SUFFIX = "-dr";

/** `kubernetes.dataNamespace` as set, or the default derived from the app's namespace. */
export function dataNamespaceOf(k: { readonly namespace: string; readonly dataNamespace?: string }): string {
  return k.dataNamespace ?? `${k.namespace}${DATA_NAMESPACE_SUFFIX}`;
}

/**
 * What is wrong with the data namespace resolved from `namespace` and `dataNamespace` (each valid on its own),
 * as problems naming the key, what is allowed and what was received.
 */
export function dataNamespaceProblems(namespace: string, dataNamespace: string | undefined): string[] {
  const resolved = dataNamespaceOf({ namespace, dataNamespace });
  if (dataNamespace === undefined && !DNS1123_LABEL.test(resolved))
    return [
      `kubernetes.dataNamespace: must be set when kubernetes.namespace is longer than ${63 - DATA_NAMESPACE_SUFFIX.length} characters (the default "${resolved}" has ${resolved.length}; a DNS-1123 label has ≤ 63); received nothing`,
    ];
  if (resolved === namespace)
    return [
      `kubernetes.dataNamespace: must differ from kubernetes.namespace (the data pods' ServiceAccounts must not be usable by the app's pods); received ${JSON.stringify(dataNamespace)} for both`,
    ];
  return [];
}
