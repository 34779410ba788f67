/**
 * What the Pulumi program and the drill import from the data tool's package: its physical names (naming.ts)
 * and the typed contract of its command lines and environment (contract.ts). Nothing here may import pg,
 * Azure or Pulumi: the program runs it, and the Jobs' image installs this package alone.
 */
export * from "./naming";
export * from "./contract";
