/** A query parameter value; `undefined` leaves the parameter out. */
export type QueryValue = string | number | boolean | undefined;

/**
 * The URL a request is sent to, built with the WHATWG URL so that what is signed is exactly what is sent: query
 * values are form-encoded (`+08:00` → `%2B08%3A00`) in the order given.
 */
export function buildRequestUrl(baseUrl: string, path: string, query: Record<string, QueryValue> = {}): URL {
  const url = new URL(path, baseUrl);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.append(name, String(value));
  }
  return url;
}

/** The canonical URL of the signature message: path plus "?query" as sent, without scheme and host. */
export function canonicalUrl(url: URL): string {
  return url.pathname + url.search;
}

/** The same request path and query on another host (failover to the backup domain). */
export function onHost(url: URL, baseUrl: string): URL {
  return new URL(canonicalUrl(url), baseUrl);
}
