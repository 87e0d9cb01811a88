import { describe, expect, it } from "vitest";
import { type CampaignReport, formatReport, usesByDayChart } from "#shared/cli/campaign-report-command.js";

const report: CampaignReport = {
  campaign_id: "c1",
  stock_id: "9856000",
  recipients: 10,
  sent: 8,
  failed: 2,
  failures_by_code: { USER_ACCOUNT_ABNORMAL: 2 },
  cancelled: 0,
  used: 3,
  used_amount: 300,
  redemption_rate: 0.375,
  first_used_at: "2026-12-01T10:00:00.000Z",
  time_to_use: { fastest_seconds: 90, median_seconds: 3600 },
  uses_by_day: [
    { day: "2026-12-01", uses: 2 },
    { day: "2026-12-03", uses: 1 },
  ],
};

describe("wxcoupon campaign report", () => {
  it("prints the report as a table, amounts in yuan, then the uses by day", () => {
    const text = formatReport(report, 60);
    expect(text).toMatch(/^Used amount\s+¥3\.00$/m);
    expect(text).toMatch(/^Redemption\s+37\.50%$/m);
    expect(text).toMatch(/^ {2}USER_ACCOUNT_ABNORMAL\s+2$/m);
    expect(text).toContain("Uses by day\n2026-12-01 │");
  });

  it("draws one line per day from the first use to the last (gaps shown), scaled to the busiest, within the width", () => {
    for (const columns of [20, 40, 80, 200]) {
      const lines = usesByDayChart(report.uses_by_day, columns).split("\n");
      expect(lines.map((l) => l.slice(0, 10))).toEqual(["2026-12-01", "2026-12-02", "2026-12-03"]);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(Math.max(columns - 1, 15));
      const bars = lines.map((l) => (l.match(/█/g) ?? []).length);
      expect(bars[1]).toBe(0);
      expect(bars[0]).toBeGreaterThanOrEqual(bars[2]!);
      expect(bars[2]).toBeGreaterThan(0);
    }
    expect(usesByDayChart([], 80)).toBe("  (no uses yet)");
  });
});
