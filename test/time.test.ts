import { strict as assert } from "node:assert";
import { DateTime } from "luxon";
import { azureUtc, humanInZone, resolveRestoreTime, restoreWindow, windowProblem } from "../plan";

const LONDON = "Europe/London";

describe("resolveRestoreTime: wall clock in the stack's zone → the UTC string Azure gets", () => {
  const cases: Array<[string, string, string, string]> = [
    // [description, input, zone, expected pointInTimeUTC]
    ["GMT (winter): local equals UTC", "2026-11-24T13:05:00", LONDON, "2026-11-24T13:05:00+00:00"],
    ["BST (summer): local is UTC+1", "2026-07-01T13:05:00", LONDON, "2026-07-01T12:05:00+00:00"],
    ["minutes only, seconds default to 0", "2026-07-01T13:05", LONDON, "2026-07-01T12:05:00+00:00"],
    [
      "last second before spring-forward gap (GMT)",
      "2026-03-29T00:59:59",
      LONDON,
      "2026-03-29T00:59:59+00:00",
    ],
    ["first wall time after the gap (BST)", "2026-03-29T02:00:00", LONDON, "2026-03-29T01:00:00+00:00"],
    ["last BST second before fall-back overlap", "2026-10-25T00:59:59", LONDON, "2026-10-24T23:59:59+00:00"],
    [
      "first unambiguous GMT time after the overlap",
      "2026-10-25T02:00:00",
      LONDON,
      "2026-10-25T02:00:00+00:00",
    ],
    ["explicit Z is taken as given", "2026-07-01T13:05:00Z", LONDON, "2026-07-01T13:05:00+00:00"],
    ["explicit offset is taken as given", "2026-07-01T13:05:00+05:30", LONDON, "2026-07-01T07:35:00+00:00"],
    [
      "explicit offset resolves the overlap: BST reading",
      "2026-10-25T01:30:00+01:00",
      LONDON,
      "2026-10-25T00:30:00+00:00",
    ],
    [
      "explicit offset resolves the overlap: GMT reading",
      "2026-10-25T01:30:00+00:00",
      LONDON,
      "2026-10-25T01:30:00+00:00",
    ],
    ["another zone: New York EDT", "2026-07-01T09:00:00", "America/New_York", "2026-07-01T13:00:00+00:00"],
    ["UTC zone", "2026-07-01T09:00:00", "UTC", "2026-07-01T09:00:00+00:00"],
  ];
  for (const [what, input, zone, expected] of cases) {
    it(`${what}: ${input} in ${zone} → ${expected}`, () => {
      const r = resolveRestoreTime(input, zone);
      assert.ok(r.ok, r.ok ? "" : r.problem);
      assert.equal(azureUtc(r.value.utc), expected);
      assert.equal(r.value.hadOffset, /Z|[+-]\d\d:\d\d$/.test(input));
    });
  }

  it("refuses a wall-clock time inside the spring-forward gap, saying it does not exist", () => {
    const r = resolveRestoreTime("2026-03-29T01:30:00", LONDON);
    assert.ok(!r.ok);
    assert.match(r.problem, /is a local time that does not exist in Europe\/London/);
  });

  it("refuses a wall-clock time in the fall-back hour, saying it is ambiguous and showing both UTC candidates", () => {
    const r = resolveRestoreTime("2026-10-25T01:30:00", LONDON);
    assert.ok(!r.ok);
    assert.match(r.problem, /is ambiguous in Europe\/London/);
    assert.match(
      r.problem,
      /either 2026-10-25T00:30:00\+00:00 \(\+01:00\) or 2026-10-25T01:30:00\+00:00 \(\+00:00\)/,
    );
  });

  const bad: Array<[string, RegExp]> = [
    ["yesterday at one", /is not an ISO-8601 date-time/],
    ["2026-11-24", /is not an ISO-8601 date-time/],
    ["2026-02-30T10:00:00", /is not a valid date-time/],
    ["2026-11-24T25:00:00", /is not a valid date-time/],
    ["2026-11-24T24:00:00", /is not a valid date-time \(hour 24: hours are 00–23\)/],
    ["2026-11-24T24:00:00Z", /is not a valid date-time \(hour 24: hours are 00–23\)/],
    ["2026-11-24T13:05:00.250", /fraction of a second/],
  ];
  for (const [input, message] of bad) {
    it(`refuses ${JSON.stringify(input)}`, () => {
      const r = resolveRestoreTime(input, LONDON);
      assert.ok(!r.ok);
      assert.match(r.problem, message);
    });
  }
});

describe("restore window: (now − retention days, now − 5 minutes)", () => {
  const now = DateTime.fromISO("2026-11-25T10:00:00Z", { zone: "utc" });
  const window = restoreWindow(now, 7);
  const at = (iso: string) => DateTime.fromISO(iso, { zone: "utc" });

  it("is exactly 7 days back to 5 minutes back", () => {
    assert.equal(azureUtc(window.earliest), "2026-11-18T10:00:00+00:00");
    assert.equal(azureUtc(window.latest), "2026-11-25T09:55:00+00:00");
  });
  const cases: Array<[string, string, RegExp | undefined]> = [
    ["the earliest instant", "2026-11-18T10:00:00Z", undefined],
    ["one second before the earliest", "2026-11-18T09:59:59Z", /older than the backup retention allows/],
    ["exactly 5 minutes ago", "2026-11-25T09:55:00Z", undefined],
    ["4 minutes 59 seconds ago", "2026-11-25T09:55:01Z", /less than 5 minutes ago/],
    ["one second in the future", "2026-11-25T10:00:01Z", /is in the future/],
  ];
  for (const [what, iso, expected] of cases) {
    it(`${what} → ${expected === undefined ? "inside" : "refused"}`, () => {
      const problem = windowProblem(at(iso), window, now, LONDON);
      if (expected === undefined) assert.equal(problem, undefined);
      else {
        assert.ok(problem !== undefined);
        assert.match(problem, expected);
        // The window is shown in UTC and in the stack's zone.
        assert.match(problem, /2026-11-18T10:00:00\+00:00 – 2026-11-25T09:55:00\+00:00 UTC/);
        assert.match(
          problem,
          /\(2026-11-18 10:00:00 GMT \(\+00:00\) – 2026-11-25 09:55:00 GMT \(\+00:00\)\)/,
        );
      }
    });
  }

  it("shows local times in summer time with the BST offset", () => {
    assert.equal(humanInZone(at("2026-07-01T12:05:00Z"), LONDON), "2026-07-01 13:05:00 BST (+01:00)");
  });
});
