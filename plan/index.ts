/** The plan: pure, config + `now` → the readonly desired state of every component and the next step. */
export * from "./control";
export * from "./data-path";
export * from "./identity";
export * from "./sizing";
export * from "./time";
export * from "./monitoring";
export * from "./next-step";
export * from "./drill";
