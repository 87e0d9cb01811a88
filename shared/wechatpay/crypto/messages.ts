/**
 * The exact byte strings WeChat Pay signs. Every line ends with "\n", the last one included.
 */

/** Request signature message: method, canonical URL (path + "?" + query as sent), timestamp, nonce, body. */
export function buildRequestMessage(
  method: string,
  canonicalUrl: string,
  timestamp: number,
  nonce: string,
  body: string,
): string {
  return `${method.toUpperCase()}\n${canonicalUrl}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** Response and notification signature message: timestamp, nonce, raw body ("" for an empty 204 body). */
export function buildResponseMessage(timestamp: string | number, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}
