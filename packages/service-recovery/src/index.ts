/**
 * The component package's entry (package.json `main`): Pulumi's plugin host serves every ComponentResource
 * class exported here, and its schema inference starts here.
 */
export { ServiceRecovery, PACKAGE_TYPE } from "./service-recovery";
export type * from "./args";
