/** Headers as fetch (`Headers`), node:http (`IncomingHttpHeaders`) or API Gateway (`Record<string, string>`) give them. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/** Case-insensitive single header lookup. */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const lower = name.toLowerCase();
  let value = record[lower] ?? record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value[0] : value;
}
