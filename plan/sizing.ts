/**
 * Sizes that follow from the database's size (issue 11, goal 4): the data-tool Jobs' scratch volume and their
 * timeouts. Pure; shared by the program (plan-data.ts, components/data-tool-pod.ts) and the README's figures.
 *
 * The block size of a backup blob is chosen by the tool itself (packages/dr-data/src/blobio.ts `chooseBlockSize`), from the
 * database's size measured when the backup starts.
 */

const GiB = 1024 ** 3;

/** Throughput of the tool's default path in bytes of database (`pg_database_size`) per second. */
export interface Throughput {
  readonly backupBytesPerSecond: number;
  readonly restoreBytesPerSecond: number;
}

/**
 * Measured by `npm run bench` at scales 30, 60 and 120 (0.45, 0.88, 1.8 GiB) on this repository's 2-CPU machine
 * shared with other work (load averages 5–12), 2026-12-04: the slowest per-byte rate of the three, rounded
 * down (backup 37.1 MiB/s at scale 60, restore 23.8 MiB/s at scale 60; README, "The data tool and its speed").
 * The server ran on the same two cores; a flexible server on its own is faster, never slower.
 */
export const MEASURED_THROUGHPUT: Throughput = {
  backupBytesPerSecond: 35 * 1024 ** 2,
  restoreBytesPerSecond: 23 * 1024 ** 2,
};

/**
 * The most work one Job does, in restores' worth: the whole PTR restore (`restore --from-copy`) dumps the copy,
 * restores it and compares live with the copy. At scale 120, against the verified restore in the same run
 * (dev/bench/results/2026-12-07-one-flow.md, two runs): 103.0 vs 58.3 and 102.8 vs 74.3 CPU s, 53.2 vs 31.3 and
 * 52.8 vs 39.3 s wall — 1.3 to 1.8; the larger is taken. The Jobs share one timeout (`jobSizing` in
 * data-path.ts), so it is sized for that Job.
 */
export const LONGEST_JOB_WORK = 1.8;

/** Fixed cost of a Job before and after the data moves: image pull, connection checks, the swap. */
export const JOB_OVERHEAD_SECONDS = 10 * 60;
/** Headroom over the measured rate: a server busy with the incident, a slower disk, retried requests. */
export const TIMEOUT_HEADROOM = 3;

/**
 * A Job's `activeDeadlineSeconds`, in minutes: overhead plus `TIMEOUT_HEADROOM` × the time the measured rate
 * gives for the data, rounded up to 10 minutes, at least 30. The Jobs' timeout is this unless configured.
 */
export function jobTimeoutMinutes(databaseBytes: number, bytesPerSecond: number): number {
  if (!Number.isFinite(databaseBytes) || databaseBytes < 0) {
    throw new Error(`database size must be a number of bytes ≥ 0, got ${databaseBytes}`);
  }
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
    throw new Error(`throughput must be a number of bytes per second > 0, got ${bytesPerSecond}`);
  }
  const seconds = JOB_OVERHEAD_SECONDS + (TIMEOUT_HEADROOM * databaseBytes) / bytesPerSecond;
  return Math.max(30, Math.ceil(seconds / 600) * 10);
}

/** Expected seconds of a restore (download, pg_restore, contents check) at the measured rate, no headroom. */
export function expectedRestoreSeconds(databaseBytes: number, t: Throughput = MEASURED_THROUGHPUT): number {
  return databaseBytes / t.restoreBytesPerSecond;
}

/**
 * The scratch a Job needs for a database of this size, as a Kubernetes quantity: the restore downloads the
 * archive (a custom-format file, or a directory-format dump unpacked) and a directory-format backup stages its
 * dump; either is at most the database's size for dumps measured here (-Z 1: 0.21×, -Z 0: 0.65× of
 * `pg_database_size`). Scenario 2's restore (`restore --from-copy`) holds two: the copy's dump, which
 * pg_restore reads, and its read-back from storage, unpacked while pg_restore runs (2 × 0.65 = 1.3×). 1.5× the
 * database plus 5 GiB, in whole GiB, at least 10Gi.
 */
export function scratchSizeFor(databaseBytes: number): string {
  if (!Number.isFinite(databaseBytes) || databaseBytes < 0) {
    throw new Error(`database size must be a number of bytes ≥ 0, got ${databaseBytes}`);
  }
  return `${Math.max(10, Math.ceil((1.5 * databaseBytes) / GiB + 5))}Gi`;
}

/** A pod volume as the Kubernetes API spells a generic ephemeral volume (a PVC made and deleted with the pod). */
export interface EphemeralVolume {
  readonly name: string;
  readonly ephemeral: {
    readonly volumeClaimTemplate: {
      readonly metadata: { readonly labels: Readonly<Record<string, string>> };
      readonly spec: {
        readonly accessModes: readonly ["ReadWriteOnce"];
        readonly storageClassName: string;
        readonly resources: { readonly requests: { readonly storage: string } };
      };
    };
  };
}

const QUANTITY = /^\d+(Mi|Gi|Ti)$/;
/** A Kubernetes resource name (RFC 1123 label; storage class names are DNS subdomains, checked the same). */
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * The Jobs' scratch as a generic ephemeral volume: a PersistentVolumeClaim from `storageClass` of `size`,
 * created with the pod and deleted with it, so the scratch is not the node's own disk (an `emptyDir` is, and
 * AKS nodes have ~100 GiB of it by default). On AKS, `managed-csi` (Azure Disk, Standard SSD LRS) is the
 * default class; `managed-csi-premium` (Premium SSD LRS) is faster. Both are built into every AKS cluster, with
 * `volumeBindingMode: WaitForFirstConsumer` (the disk is made in the zone of the node the pod lands on) and
 * reclaim policy Delete (the disk goes with the claim): learn.microsoft.com/azure/aks/azure-disk-csi and
 * /azure/aks/create-volume-azure-disk ("Built-in storage classes"), checked 2026-12-04; not reachable from here,
 * so `kubectl get storageclass` on the cluster is the check before a first `pulumi up`.
 */
export function scratchVolume(
  name: string,
  storageClass: string,
  size: string,
  labels: Readonly<Record<string, string>> = {},
): EphemeralVolume {
  if (!DNS_NAME.test(name)) throw new Error(`scratch volume name ${JSON.stringify(name)}: a DNS label`);
  if (!DNS_NAME.test(storageClass)) {
    throw new Error(
      `dataTool.scratch.storageClass: a storage class name such as managed-csi, got ${JSON.stringify(storageClass)}`,
    );
  }
  if (!QUANTITY.test(size)) {
    throw new Error(`dataTool.scratch.size: a Kubernetes quantity such as 50Gi, got ${JSON.stringify(size)}`);
  }
  return {
    name,
    ephemeral: {
      volumeClaimTemplate: {
        metadata: { labels: { ...labels } },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: storageClass,
          resources: { requests: { storage: size } },
        },
      },
    },
  };
}
