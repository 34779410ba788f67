/**
 * sizing.ts: the Jobs' scratch volume and timeouts from the database's size, so that a large database's dump
 * fits and its restore is not cut off.
 */
import { strict as assert } from "node:assert";
import {
  expectedRestoreSeconds,
  jobTimeoutMinutes,
  MEASURED_THROUGHPUT,
  scratchSizeFor,
  scratchVolume,
} from "../plan";

const GiB = 1024 ** 3;
const MiBps = 1024 ** 2;

describe("sizing: timeouts from size and measured throughput", () => {
  const cases: [string, number, number, number][] = [
    ["an empty database: the 30-minute floor", 0, 23 * MiBps, 30],
    ["10 GiB at 23 MiB/s: 10 min + 3 × 445 s, rounded up to 10 min", 10 * GiB, 23 * MiBps, 40],
    ["100 GiB at 23 MiB/s", 100 * GiB, 23 * MiBps, 240],
    ["500 GiB at 23 MiB/s: past the seed's fixed 180 minutes", 500 * GiB, 23 * MiBps, 1130],
    ["500 GiB at 35 MiB/s (backup)", 500 * GiB, 35 * MiBps, 750],
  ];
  for (const [name, bytes, rate, minutes] of cases) {
    it(name, () => assert.equal(jobTimeoutMinutes(bytes, rate), minutes));
  }
  it("bad input is an error naming what was received", () => {
    assert.throws(() => jobTimeoutMinutes(-1, 1), /database size must be a number of bytes ≥ 0, got -1/);
    assert.throws(
      () => jobTimeoutMinutes(1, 0),
      /throughput must be a number of bytes per second > 0, got 0/,
    );
  });
  it("the expected restore time is the measured rate without headroom", () => {
    assert.equal(expectedRestoreSeconds(23 * MiBps * 100), 100);
    assert.equal(MEASURED_THROUGHPUT.restoreBytesPerSecond, 23 * MiBps);
  });
});

describe("sizing: scratch", () => {
  const cases: [number, string][] = [
    [0, "10Gi"],
    [1 * GiB, "10Gi"],
    [100 * GiB, "155Gi"],
    [500e9, "704Gi"],
  ];
  for (const [bytes, size] of cases) {
    it(`${bytes} bytes → ${size}`, () => assert.equal(scratchSizeFor(bytes), size));
  }

  it("a generic ephemeral volume from the storage class and size", () => {
    assert.deepStrictEqual(scratchVolume("scratch", "managed-csi", "130Gi", { app: "dr-data" }), {
      name: "scratch",
      ephemeral: {
        volumeClaimTemplate: {
          metadata: { labels: { app: "dr-data" } },
          spec: {
            accessModes: ["ReadWriteOnce"],
            storageClassName: "managed-csi",
            resources: { requests: { storage: "130Gi" } },
          },
        },
      },
    });
  });

  it("a bad storage class or size names the key, what is allowed and what was received", () => {
    assert.throws(
      () => scratchVolume("scratch", "Managed CSI", "50Gi"),
      /^Error: dataTool\.scratch\.storageClass: a storage class name such as managed-csi, got "Managed CSI"$/,
    );
    assert.throws(
      () => scratchVolume("scratch", "managed-csi", "50GB"),
      /^Error: dataTool\.scratch\.size: a Kubernetes quantity such as 50Gi, got "50GB"$/,
    );
  });
});
