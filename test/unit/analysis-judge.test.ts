import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MetricCheck } from "../../src/api/common.ts";
import { judge } from "../../src/engine/analysis/judge.ts";

const duration = (extra: Partial<MetricCheck>): MetricCheck => ({ name: "request-duration", ...extra });
const successRate = (extra: Partial<MetricCheck>): MetricCheck => ({
  name: "request-success-rate",
  ...extra,
});

describe("judge: thresholdRange", () => {
  it("is inclusive at both ends", () => {
    const check = duration({ thresholdRange: { min: 10, max: 500 } });
    expect(judge(check, 10).verdict).toBe("Pass");
    expect(judge(check, 500).verdict).toBe("Pass");
    expect(judge(check, 9.999).verdict).toBe("Fail");
    expect(judge(check, 500.001).verdict).toBe("Fail");
  });

  it("says which bound failed and reports the value and range", () => {
    const check = successRate({ thresholdRange: { min: 99 } });
    expect(judge(check, 97.5)).toEqual({
      name: "request-success-rate",
      verdict: "Fail",
      value: 97.5,
      thresholdRange: { min: 99 },
      message: "97.5 is below the minimum 99",
    });
    expect(judge(duration({ thresholdRange: { max: 500 } }), 612).message).toBe(
      "612 is above the maximum 500",
    );
  });

  it("passes exactly the values within the range", () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
        fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
        (value, min, max) => {
          const within = (min === undefined || value >= min) && (max === undefined || value <= max);
          const { verdict } = judge(duration({ thresholdRange: { min, max } }), value);
          expect(verdict).toBe(within ? "Pass" : "Fail");
        },
      ),
    );
  });
});

describe("judge: maxIncreaseOverPrimary", () => {
  it("fails when the value exceeds the primary's by more than the percentage (boundary passes)", () => {
    const check = duration({ maxIncreaseOverPrimary: 10 });
    expect(judge(check, 110, 100)).toMatchObject({ verdict: "Pass", value: 110, primaryValue: 100 });
    expect(judge(check, 110.1, 100)).toMatchObject({
      verdict: "Fail",
      message: "110.1 is more than 10% above the primary's 100",
    });
    expect(judge(check, 50, 100).verdict).toBe("Pass");
  });

  it("allows no increase at all over a primary of 0", () => {
    const check = duration({ maxIncreaseOverPrimary: 50 });
    expect(judge(check, 0, 0).verdict).toBe("Pass");
    expect(judge(check, 0.001, 0).verdict).toBe("Fail");
  });

  it("for request-success-rate, fails on a drop of more than pct percentage points", () => {
    const check = successRate({ maxIncreaseOverPrimary: 1 });
    expect(judge(check, 98.5, 99.5).verdict).toBe("Pass");
    expect(judge(check, 98.4, 99.5)).toMatchObject({
      verdict: "Fail",
      message: "98.4 is more than 1 percentage point below the primary's 99.5",
    });
    // Higher is better: a canary doing better than the primary never fails the comparison,
    // though the generic rule (value > primary * 1.01) would fail it.
    expect(judge(check, 100, 90.5).verdict).toBe("Pass");
    expect(judge(duration({ maxIncreaseOverPrimary: 1 }), 100, 90.5).verdict).toBe("Fail");
  });

  it("says what a pass was measured against", () => {
    const check = successRate({ thresholdRange: { min: 99 }, maxIncreaseOverPrimary: 1 });
    expect(judge(check, 99.2, 99.9).message).toBe(
      "99.2 passed (min 99; the primary's 99.9 allows down to 98.9)",
    );
  });

  it("needs both criteria to pass", () => {
    const check = duration({ thresholdRange: { max: 500 }, maxIncreaseOverPrimary: 10 });
    expect(judge(check, 400, 300)).toMatchObject({
      verdict: "Fail",
      message: expect.stringContaining("10%"),
    });
    expect(judge(check, 600, 590)).toMatchObject({
      verdict: "Fail",
      message: expect.stringContaining("maximum"),
    });
    expect(judge(check, 700, 300).message).toMatch(/maximum 500; .*10%/);
    expect(judge(check, 320, 300).verdict).toBe("Pass");
  });
});

describe("judge: missing values are Unavailable, never Pass", () => {
  it("without a value", () => {
    expect(judge(duration({ thresholdRange: { max: 500 } }), undefined)).toEqual({
      name: "request-duration",
      verdict: "Unavailable",
      thresholdRange: { max: 500 },
      message: "no value for request-duration",
    });
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])("with a value of %s", (value) => {
    expect(judge(duration({ thresholdRange: { max: 500 } }), value).verdict).toBe("Unavailable");
  });

  it("without the primary's value when comparing with it, saying so", () => {
    const result = judge(duration({ thresholdRange: { max: 500 }, maxIncreaseOverPrimary: 10 }), 100);
    expect(result.verdict).toBe("Unavailable");
    expect(result.value).toBe(100);
    expect(result.message).toContain("primary");
  });

  it("ignores a missing primary value when not comparing with it", () => {
    expect(judge(duration({ thresholdRange: { max: 500 } }), 100).verdict).toBe("Pass");
  });

  it("for any criteria", () => {
    fc.assert(
      fc.property(
        fc.option(fc.double({ noNaN: true }), { nil: undefined }),
        fc.option(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
        fc.constantFrom<number | undefined>(undefined, Number.NaN, Number.NEGATIVE_INFINITY),
        fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
        (max, pct, value, primary) => {
          const check = duration({ thresholdRange: { max }, maxIncreaseOverPrimary: pct });
          expect(judge(check, value, primary).verdict).toBe("Unavailable");
        },
      ),
    );
  });
});
