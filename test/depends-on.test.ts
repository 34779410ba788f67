import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { dependsOnOf } from "../components";

describe("components: opts.dependsOn handed to the children", () => {
  it("none: the children wait for nothing", () => {
    assert.deepStrictEqual(dependsOnOf("x", undefined), []);
    assert.deepStrictEqual(dependsOnOf("x", {}), []);
  });
  it("a list: a copy the children extend, the caller's list untouched", () => {
    const given: pulumi.Input<pulumi.Resource>[] = [];
    const copy = dependsOnOf("x", { dependsOn: given });
    copy.push(Promise.resolve() as unknown as pulumi.Input<pulumi.Resource>);
    assert.equal(given.length, 0);
  });
  it("an Output of a list cannot be extended: refused, naming the component", () => {
    assert.throws(
      () => dependsOnOf("recovery jobs", { dependsOn: pulumi.output([]) }),
      /^Error: recovery jobs: opts\.dependsOn must be a resource or a list of resources \(its children extend it\); received an Output$/,
    );
  });
});
