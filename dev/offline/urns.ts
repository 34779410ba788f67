/**
 * The engine URN of every resource the program declares, for every committed stack in every runbook state
 * (test/support/dr-states.ts), as JSON: `{ <stack>: { <state>: [urn, …] } }`. Run against the tree of an
 * earlier commit, it records the URNs an existing stack holds; test/urns.test.ts checks that the current
 * program takes every one of them over (by URN or alias) and deletes none.
 *
 *   npx tsx dev/offline/urns.ts <out.json> [<project-dir>]
 *
 * `<project-dir>` (default: this checkout) is the tree whose program is run (e.g. `git archive <commit>`
 * unpacked, with this checkout's node_modules linked in): its own mocks, stack files and states.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import type { DateTime } from "luxon";
import type { RegisterResourceRequest } from "@pulumi/pulumi/proto/resource_pb";
import { PROJECT } from "../../config";
import { engineResources, registrationOf, type Registration } from "../../test/support/urns";

type Stack = "staging" | "production";
interface Tree {
  readonly mocks: typeof import("./mocks");
  readonly stacks: typeof import("../../test/support/stacks");
  readonly states: typeof import("../../test/support/dr-states");
}

async function loadTree(dir: string): Promise<Tree> {
  return {
    mocks: (await import(path.join(dir, "dev/offline/mocks"))) as Tree["mocks"],
    stacks: (await import(path.join(dir, "test/support/stacks"))) as Tree["stacks"],
    states: (await import(path.join(dir, "test/support/dr-states"))) as Tree["states"],
  };
}

/** What the tree's program registers for a stack in one state, at `now`. */
export async function registrations(
  tree: Tree,
  dir: string,
  stack: Stack,
  sets: readonly string[],
  now: DateTime,
): Promise<Registration[]> {
  const { RecordingMocks, runProgram } = tree.mocks;
  const mocks = new RecordingMocks({ now });
  const seen: Registration[] = [];
  const note = mocks.noteRegistration.bind(mocks);
  mocks.noteRegistration = (req: RegisterResourceRequest): void => {
    seen.push(registrationOf(req));
    note(req);
  };
  await runProgram(tree.stacks.stackStrings(stack, sets), tree.stacks.SECRET_KEYS, now, {
    mocks,
    stack,
    programPath: path.join(dir, "stack", "program"),
  });
  return seen;
}

async function main(argv: readonly string[]): Promise<void> {
  const [out, projectArg] = argv;
  if (out === undefined) throw new Error("usage: urns.ts <out.json> [<project-dir>]");
  const dir = path.resolve(projectArg ?? path.join(__dirname, "..", ".."));
  const tree = await loadTree(dir);
  const result: Record<string, Record<string, string[]>> = {};
  for (const stack of ["staging", "production"] as const) {
    result[stack] = {};
    for (const [state, sets] of tree.states.ALL_STATES) {
      const regs = await registrations(tree, dir, stack, sets, tree.stacks.NOW);
      result[stack][state] = engineResources(stack, PROJECT, regs).map((r) => r.urn);
    }
  }
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
