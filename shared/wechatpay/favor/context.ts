import type { WechatPayHttpClient } from "../transport/http-client.js";

/** What every endpoint family needs: the transport, the calling merchant and the clock (for rule checks). */
export interface FavorContext {
  http: WechatPayHttpClient;
  mchid: string;
  now: () => number;
}

export const FAVOR_PATH = "/v3/marketing/favor";

/** A path segment from caller data, percent-encoded so it can never change the path. */
export const segment = (value: string): string => encodeURIComponent(value);
