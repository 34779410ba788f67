// Entry point for the Pulumi CLI: the program with the real clock. Everything else lives in program.ts.
import { DateTime } from "luxon";
import { program } from "./program";

export = async (): Promise<Record<string, unknown>> => program(DateTime.utc());
