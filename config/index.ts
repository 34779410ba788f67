/** The stack's configuration: the one reader of `pulumi.Config`, schema-parsed, every problem at once. */
export * from "./config";
export * from "./identity";
export * from "./data-tool-image";
export * from "./drill";
