/** What the drill asserts about the app around the recovery Jobs: stopped while they run, back after them. */
import type { AppCluster } from "../cluster";
import { formatLevers, type Declared } from "../declared";
import type { Evidence } from "../evidence";
import type { StepRecord } from "../timeline";

/** A Job under a live app would restore under its writes: the app may come back only after the last Job. */
export function checkAppBackAfterJobs(evidence: Evidence, what: string, events: readonly string[]): void {
  const firstScaleUp = events.findIndex((e) => e.startsWith("scale ") && !e.endsWith(" 0"));
  const lastJob = events.map((e) => e.startsWith("job ")).lastIndexOf(true);
  const ranJobs = events.filter((e) => e.startsWith("job ")).map((e) => e.slice(4));
  if (ranJobs.length === 0 || firstScaleUp < 0 || firstScaleUp < lastJob)
    throw new Error(`${what}: the app did not come back after the Jobs: ${events.join(" → ")}`);
  evidence.check(
    `${what}: ${ranJobs.join(", ")} ran with the app at 0 (held); the app came back after them: ${events.join(" → ")}`,
  );
}

/**
 * A step after validation (maintenance off, unfreeze) runs after a refresh: no patch may change the app's
 * count (the hold's 0 is never re-applied). `events` are what the step's `up` did.
 */
export function checkAppStayedUp(
  evidence: Evidence,
  cluster: AppCluster,
  s: StepRecord,
  d: Declared,
  o: { before: string; events: readonly string[] },
): void {
  const scaled = o.events.filter((e) => e.startsWith("scale "));
  const off = cluster.appOffNormal(d);
  if (scaled.length > 0 || off !== undefined)
    throw new Error(
      `${s.title}: the app did not stay at its normal count: ${[...scaled, off ?? ""].join(" → ")}`,
    );
  evidence.check(`${s.title} (validate, after a refresh): the app stayed at ${o.before}`);
}

/** `pulumi refresh` in validate: the app up at its normal count before and after. */
export function checkAppUpAroundRefresh(
  evidence: Evidence,
  cluster: AppCluster,
  s: StepRecord,
  d: Declared,
): void {
  const before = cluster.appOffNormal(d);
  const app = cluster.appState(d);
  cluster.refresh(s, d);
  const after = cluster.appOffNormal(d);
  if (before !== undefined || after !== undefined)
    throw new Error(`the app is not at its normal count around the refresh: ${before ?? after ?? ""}`);
  evidence.check(`pulumi refresh in validate: the app up before (${app}) and after (${cluster.appState(d)})`);
}

/**
 * The scheduled drill's `up` leaves the app as the committed stack declares it: the same replica patches
 * (inputs and options), the same levers (replicas, maintenance, approvers, nightly), and applying it moves
 * no Deployment. `events` are what that `up` did to the app.
 */
export function checkAppAsSteadyState(
  evidence: Evidence,
  cluster: AppCluster,
  o: { steady: Declared; drill: Declared; events: readonly string[] },
): void {
  const problems: string[] = [];
  const steadyLevers = formatLevers(o.steady.levers);
  if (formatLevers(o.drill.levers) !== steadyLevers)
    problems.push(`levers ${formatLevers(o.drill.levers)}, steady state ${steadyLevers}`);
  if (JSON.stringify(o.drill.patches) !== JSON.stringify(o.steady.patches))
    problems.push("the replica patches differ from the steady state's");
  const scaled = o.events.filter((e) => e.startsWith("scale "));
  if (scaled.length > 0) problems.push(`the up scaled the app: ${scaled.join(" → ")}`);
  const off = cluster.appOffNormal(o.drill);
  if (off !== undefined) problems.push(`the app is not at its normal count: ${off}`);
  if (problems.length > 0) throw new Error(`the drill's up touched the app: ${problems.join("; ")}`);
  evidence.check(
    `the drill's up declares the app as the steady state (${steadyLevers}; the same replica patches) and moved no Deployment: the app stayed at ${cluster.appState(o.drill)}`,
  );
}
