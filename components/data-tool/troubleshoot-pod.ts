import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { DataPathPlan } from "../../plan";
import { TROUBLESHOOT_STEP } from "@service-dr/dr-data";
import { DATA_TOOL_POD_LABELS, dataToolPodSpec, stepLabels } from "./data-tool-pod";
import { dependsOnOf } from "../depends-on";

export interface TroubleshootPodArgs {
  /** The data path (image, identity, storage) and the pod to declare (must be set). */
  readonly plan: DataPathPlan;
}

/**
 * "It may be necessary to connect to the source or PTR postgres server for troubleshooting, before deciding on
 * a full restore or otherwise" (the seed runbook, which used konduit.sh from a laptop): a pod of the tool's
 * image in the data pods' namespace that only sleeps, with both servers' connections in its environment, so
 * `kubectl -n <ns> exec -it <pod> -- psql-ptr` (or `psql-live`) opens a session with no password typed
 * (packages/dr-data/src/bin/psql-side: under Entra it fetches the identity's access token itself). No Service: nothing can
 * connect to it; it connects out. Declared only while the PTR copy exists, so it goes with it. `opts.dependsOn`:
 * what must exist first (the recovery identity, both servers and the copy's administrator).
 */
export class TroubleshootPod extends pulumi.ComponentResource {
  public readonly podName: string;

  constructor(name: string, args: TroubleshootPodArgs, opts?: pulumi.ComponentResourceOptions) {
    super("service-dr:index:TroubleshootPod", name, {}, opts);
    const p = args.plan;
    const pod = p.troubleshootPod;
    if (pod === undefined) throw new Error("troubleshooting pod: the plan declares none");
    new k8s.core.v1.Pod(
      `${name}-pod`,
      {
        metadata: {
          name: pod.name,
          namespace: p.namespace,
          labels: { ...stepLabels(TROUBLESHOOT_STEP), ...DATA_TOOL_POD_LABELS },
        },
        spec: dataToolPodSpec(
          p,
          pod.serviceAccountName,
          [],
          pod.connections,
          {},
          {
            // Sleeps until deleted; `kubectl exec` runs the helpers beside it. Restarted if it ever exits.
            command: ["sleep", "infinity"],
            restartPolicy: "Always",
            // An interactive psql or two, not a dump: small, and a little scratch for \copy … TO a file.
            requests: { cpu: "100m", memory: "256Mi" },
            limits: { cpu: "1", memory: "1Gi" },
            emptyDirScratch: "2Gi",
          },
        ),
      },
      {
        parent: this,
        dependsOn: dependsOnOf("troubleshooting pod", opts),
        // A pod's spec is immutable in Kubernetes (a changed image or env would replace it, which only ends
        // the sessions open in it): the provider replaces it, which is what a sleeping pod can afford.
        deleteBeforeReplace: true,
      },
    );
    this.podName = pod.name;
    this.registerOutputs({ podName: pod.name });
  }
}
