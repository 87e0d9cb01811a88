/**
 * The five-line message a merchant signs (docs/wechatpay-apiv3-security.md#request-signing); every line ends with `\n`,
 * the last included.
 */
export function requestSignMessage(
  method: string,
  canonicalUrl: string,
  timestamp: string,
  nonce: string,
  body: string,
): string {
  return `${method}\n${canonicalUrl}\n${timestamp}\n${nonce}\n${body}\n`;
}

/**
 * The three-line message WeChat signs on responses and notifications
 * (docs/wechatpay-apiv3-security.md#response-and-notification-verification).
 */
export function responseSignMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}
