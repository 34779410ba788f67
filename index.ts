// Entry point for the Pulumi CLI: the program with the real clock. Everything else lives in program.ts.
import { DateTime } from "luxon";
import { program } from "./stack/program";
import type { ProgramOutputs } from "./stack/outputs";

export = async (): Promise<ProgramOutputs> => program(DateTime.utc());
