import { describe, expect, it } from "vitest";
import { MemoryStockRequestLedger } from "#shared/adapters/memory/memory-stock-request-ledger.js";
import { ConflictError } from "#shared/domain/errors.js";
import { createStock } from "#shared/domain/stocks/create-stock.js";
import { FakeCouponGateway, refused, unavailable } from "../../helpers/fake-coupon-gateway.js";

function setup() {
  const gateway = new FakeCouponGateway();
  return {
    gateway,
    deps: { stockRequests: new MemoryStockRequestLedger(), gateway, clock: () => 1_800_000_000_000, leaseMs: 30_000 },
  };
}
const command = { mchid: "1900000001", outRequestNo: "stock-1", body: { stock_name: "x", out_request_no: "stock-1" } };

describe("createStock", () => {
  it("creates once and replays the stored stock_id", async () => {
    const { deps, gateway } = setup();
    const first = await createStock(deps, command);
    expect(first).toMatchObject({ status: "CREATED", replayed: false });
    expect(await createStock(deps, command)).toEqual({ ...first, replayed: true });
    expect(gateway.calls).toBe(1);
  });

  it("checks the business rules of a new request only: a replay after its begin time answers the stored stock", async () => {
    const { deps, gateway } = setup();
    const tooLate = () => {
      throw new ConflictError("INVALID_REQUEST", "available_begin_time", "is in the past");
    };
    await expect(createStock(deps, { ...command, validate: tooLate })).rejects.toThrow("is in the past");
    expect(await deps.stockRequests.get(command)).toBeUndefined();
    const first = await createStock(deps, { ...command, validate: () => {} });
    expect(await createStock(deps, { ...command, validate: tooLate })).toEqual({ ...first, replayed: true });
    expect(gateway.calls).toBe(1);
  });

  it("refuses the same out_request_no with another body", async () => {
    const { deps } = setup();
    await createStock(deps, command);
    await expect(createStock(deps, { ...command, body: { stock_name: "y" } })).rejects.toBeInstanceOf(ConflictError);
  });

  it("records a final refusal and retries a retryable failure", async () => {
    const { deps, gateway } = setup();
    gateway.failures.push(unavailable(), refused("PARAM_ERROR"));
    expect(await createStock(deps, command)).toMatchObject({ status: "RETRY" });
    expect(await createStock(deps, command)).toMatchObject({ status: "FAILED", code: "PARAM_ERROR", replayed: false });
    expect(await createStock(deps, command)).toMatchObject({ status: "FAILED", replayed: true });
    expect(gateway.calls).toBe(2);
  });
});
