/**
 * The components: `ServiceRecovery`, the one a program constructs per service, and the ones it is made of,
 * grouped by what each acts on (database, storage, identity, app, pipeline, data tool).
 */
export * from "./service-recovery";
export * from "./depends-on";
export * from "./database/live-server";
export * from "./database/ptr-copy";
export * from "./storage/backup-storage";
export * from "./identity/workload-identity";
export * from "./app/maintenance-mode";
export * from "./app/replica-counts";
export * from "./app/replica-hold";
export * from "./app/replicas-patch";
export * from "./pipeline/pipeline-freeze";
export * from "./data-tool/data-tool-pod";
export * from "./data-tool/network-policy";
export * from "./data-tool/nightly-backup";
export * from "./data-tool/recovery-jobs";
export * from "./data-tool/troubleshoot-pod";
export * from "./monitoring/backup-alerts";
export * from "./drill/scheduled-drill";
