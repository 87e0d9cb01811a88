import type { FlowSource } from "../../domain/reconciliation/reconcile-run.js";
import { isWechatPayApiError } from "../../wechatpay/errors.js";
import type { MerchantRuntime } from "./merchant-runtime.js";
import type { WechatStockEndTimes } from "./stock-end-times.js";

/**
 * The reconciliation's view of WeChat (E13/E14 through the streaming client, E8 for the stock's end). WeChat answers
 * 404 RESOURCE_NOT_EXISTS both before it serves a stock's files and when the stock has nothing to list
 * (docs/wechatpay-cash-coupons.md#when-the-files-exist): that is `undefined` here, and the caller tells the two apart
 * by the time. Any other error propagates (the run records it and resumes on the next invocation).
 */
export class WechatFlowSource implements FlowSource {
  constructor(
    private readonly merchant: Pick<MerchantRuntime, "get">,
    private readonly stockEnds: Pick<WechatStockEndTimes, "endOf">,
  ) {}

  async openUseFlow(stockId: string) {
    const { client } = await this.merchant.get();
    return orMissing(() => client.flows.openUseFlow(stockId));
  }

  async openRefundFlow(stockId: string) {
    const { client } = await this.merchant.get();
    return orMissing(() => client.flows.openRefundFlow(stockId));
  }

  async useFlowServed(stockId: string): Promise<boolean> {
    const { client } = await this.merchant.get();
    return (await orMissing(() => client.flows.useFlowLink(stockId))) !== undefined;
  }

  stockEnd(stockId: string): Promise<number | undefined> {
    return this.stockEnds.endOf(stockId);
  }
}

async function orMissing<T>(open: () => Promise<T>): Promise<T | undefined> {
  try {
    return await open();
  } catch (error) {
    if (isWechatPayApiError(error, "RESOURCE_NOT_EXISTS")) return undefined;
    throw error;
  }
}
