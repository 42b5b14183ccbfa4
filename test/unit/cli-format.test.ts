import { describe, expect, it } from "vitest";
import { age, humanDuration } from "../../src/cli/age.ts";
import { sparkline } from "../../src/cli/chart.ts";
import { formatDuration, parseFlagDuration } from "../../src/cli/duration.ts";
import { CliError } from "../../src/cli/errors.ts";
import { renderTable, truncate } from "../../src/cli/table.ts";
import { now } from "./cli-fixtures.ts";

describe("humanDuration (kubectl AGE)", () => {
  it.each([
    [-5_000, "<invalid>"],
    [-900, "0s"],
    [0, "0s"],
    [5_000, "5s"],
    [119_000, "119s"],
    [120_000, "2m"],
    [190_000, "3m10s"],
    [600_000, "10m"],
    [179 * 60_000, "179m"],
    [3 * 3_600_000, "3h"],
    [(3 * 60 + 25) * 60_000, "3h25m"],
    [8 * 3_600_000, "8h"],
    [47 * 3_600_000, "47h"],
    [4 * 86_400_000, "4d"],
    [(4 * 24 + 5) * 3_600_000, "4d5h"],
    [30 * 86_400_000, "30d"],
    [(2 * 365 + 10) * 86_400_000, "2y10d"],
    [9 * 365 * 86_400_000, "9y"],
  ])("%d ms is %s", (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it("reads timestamps, and shows - for missing ones", () => {
    expect(age("2026-11-22T09:57:00Z", now)).toBe("3m");
    expect(age(undefined, now)).toBe("-");
    expect(age("yesterday", now)).toBe("-");
  });
});

describe("renderTable", () => {
  it("pads columns by three spaces with no trailing spaces", () => {
    const text = renderTable(
      ["KIND", "NAME", "MESSAGE"],
      [
        ["Canary", "web", ""],
        ["Canary", "payments-api", "x"],
      ],
    );
    expect(text.split("\n")).toEqual([
      "KIND     NAME           MESSAGE",
      "Canary   web",
      "Canary   payments-api   x",
    ]);
  });

  it("counts sparkline blocks as one column each", () => {
    expect(renderTable(["A", "B"], [["▁▂▃", "x"]], { indent: "  " })).toBe("  A     B\n  ▁▂▃   x");
  });

  it("truncates with an ellipsis", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });
});

describe("sparkline", () => {
  it("maps values onto eight levels between min and max", () => {
    expect(sparkline([0, 10, 20, 30, 40, 50, 100], 0, 100)).toBe("▁▂▂▃▄▅█");
    expect(sparkline([0, 1, 99, 100], 0, 100)).toBe("▁▂██");
  });

  it("draws unmeasured values as gaps and a flat series in the middle", () => {
    expect(sparkline([1, undefined, 1], 1, 1)).toBe("▄·▄");
  });

  it("clamps values outside the scale", () => {
    expect(sparkline([-10, 200], 0, 100)).toBe("▁█");
  });
});

describe("flag durations", () => {
  it("reads Go-style durations and 0", () => {
    expect(parseFlagDuration("--wait", "5s")).toBe(5000);
    expect(parseFlagDuration("--timeout", "1h30m")).toBe(5_400_000);
    expect(parseFlagDuration("--timeout", "0")).toBe(0);
  });

  it("rejects anything else with the flag's name", () => {
    expect(() => parseFlagDuration("--timeout", "10 minutes")).toThrow(CliError);
    expect(() => parseFlagDuration("--timeout", "10")).toThrow(/invalid --timeout "10"/);
  });

  it("formats durations briefly", () => {
    expect(formatDuration(5000)).toBe("5s");
    expect(formatDuration(600_000)).toBe("10m");
    expect(formatDuration(5_430_000)).toBe("1h30m30s");
    expect(formatDuration(250)).toBe("250ms");
  });
});
