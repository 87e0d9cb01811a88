/** Byte-wise (UTF-8) string ordering, the order in which DynamoDB sorts string sort keys. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
