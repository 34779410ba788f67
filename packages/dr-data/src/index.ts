/**
 * What the Pulumi program and the development tools import from the data tool's package: its physical names
 * (naming.ts), the typed contract of its command lines and environment (contract.ts), and the conventions every
 * CLI here shares: UsageError and the cause-chain printer (errors.ts), the flag reader (flags.ts). Nothing here
 * may import pg, Azure or Pulumi: the program runs it, and the Jobs' image installs this package alone.
 */
export * from "./naming";
export * from "./errors";
export { flagProblem, parseFlags } from "./flags";
export * from "./contract";
