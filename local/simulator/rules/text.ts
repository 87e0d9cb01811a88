const HAN = /\p{Script=Han}/gu;

/** Number of Chinese characters. */
export function hanCount(text: string): number {
  return text.match(HAN)?.length ?? 0;
}

/** Characters, counting code points (not UTF-16 units). */
export function charCount(text: string): number {
  return [...text].length;
}

/**
 * Width for "≤N Chinese characters / ≤M letters" limits: a Chinese character costs M/N letters.
 * (stock_name: 9 / 20; merchant_name: 12 / 36.)
 */
export function weightedLength(text: string, hanWeight: number): number {
  const han = hanCount(text);
  return han * hanWeight + (charCount(text) - han);
}

export const OUT_REQUEST_NO = /^[A-Za-z0-9|_*-]{1,128}$/;
export const MCHID = /^[0-9]{1,20}$/;
export const OPENID = /^[A-Za-z0-9_-]{1,128}$/;
export const APPID = /^[A-Za-z0-9_-]{1,32}$/;
