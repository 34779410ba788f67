import * as pulumi from "@pulumi/pulumi";

/**
 * A component's `opts.dependsOn` as a list its children can extend. The one way a caller orders a component
 * is `opts.dependsOn`, the Pulumi way; but a component's own dependsOn does not make its children wait (the
 * engine orders registrations, and the children register under the component regardless), so each child that
 * must wait is given this list. A plain list or one resource; an Output or promise of a list cannot be
 * extended synchronously and is refused, naming what was received.
 */
export function dependsOnOf(
  component: string,
  opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.Input<pulumi.Resource>[] {
  const given = opts?.dependsOn;
  if (given === undefined) return [];
  if (Array.isArray(given)) return [...given];
  if (pulumi.Resource.isInstance(given)) return [given];
  throw new Error(
    `${component}: opts.dependsOn must be a resource or a list of resources (its children extend it); ` +
      `received ${pulumi.Output.isInstance(given) ? "an Output" : "a promise"}`,
  );
}
