// Exact decimals of the replicated counters (src/replication/decimal.ts).
import { describe, it, expect } from "vitest";
import { parseDecimal, toUnits, formatUnits, SCALE } from "../../src/replication/decimal.js";

const units = (t: string) => toUnits(parseDecimal(t)!);

describe("replicated counter decimals", () => {
  it("parses what INCRBYFLOAT accepts and prints Redis's fixed notation", () => {
    expect(formatUnits(units("0.1") + units("0.2"))).toBe("0.3");
    expect(formatUnits(units("1e3") + units("-.5"))).toBe("999.5");
    expect(formatUnits(units("-0.1") + units("0.1"))).toBe("0");
    expect(formatUnits(units("-2.50"))).toBe("-2.5");
    expect(formatUnits(units("5.0e-1"))).toBe("0.5");
    expect(units("7")).toBe(7n * SCALE);
  });

  it("rounds beyond 17 decimals half away from zero", () => {
    expect(formatUnits(units("0.123456789012345678"))).toBe("0.12345678901234568");
    expect(formatUnits(units("-0.000000000000000005"))).toBe("-0.00000000000000001");
  });

  it("refuses what is not a number", () => {
    for (const t of ["", "abc", "inf", "nan", "1.2.3", " 1", "1 ", "e5", "1e99999"]) expect(parseDecimal(t), t).toBeUndefined();
  });
});
