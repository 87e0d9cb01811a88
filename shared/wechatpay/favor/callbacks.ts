import { FAVOR_PATH, type FavorContext } from "./context.js";
import type { CallbackSettings, SetCallbackRequest, SetCallbackResponse } from "./types.js";
import { validateCallbackQuery, validateSetCallback } from "./validation.js";

/**
 * Notify-URL endpoints (E15, E16). `mchid` defaults to the client's merchant.
 *
 * @example
 * await client.callbacks.set({ notify_url: "https://example.com/wechat/notify", switch: true });
 */
export class CallbacksApi {
  constructor(private readonly context: FavorContext) {}

  /** E15: where COUPON.USE events go. */
  async set(request: SetCallbackRequest): Promise<SetCallbackResponse> {
    const body = {
      mchid: request.mchid ?? this.context.mchid,
      notify_url: request.notify_url,
      ...(request.switch === undefined ? {} : { switch: request.switch }),
    };
    validateSetCallback(body);
    const { data } = await this.context.http.request<SetCallbackResponse>({
      method: "POST",
      path: `${FAVOR_PATH}/callbacks`,
      json: body,
    });
    return data;
  }

  /** E16. */
  async get(query: { mchid?: string } = {}): Promise<CallbackSettings> {
    const mchid = query.mchid ?? this.context.mchid;
    validateCallbackQuery({ mchid });
    const { data } = await this.context.http.request<CallbackSettings>({
      method: "GET",
      path: `${FAVOR_PATH}/callbacks`,
      query: { mchid },
    });
    return data;
  }
}
