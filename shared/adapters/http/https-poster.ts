import type { DeliveryResult } from "../../domain/events/forwarding.js";

/** POSTs `body` to `url` with a timeout; a 2xx is a delivery, anything else (or no answer) is not. */
export function httpPoster(timeoutMs: number) {
  return async (url: string, body: string, headers: Record<string, string>): Promise<DeliveryResult> => {
    try {
      const response = await fetch(url, { method: "POST", body, headers, signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.ok ? { ok: true, status: response.status } : { ok: false, status: response.status };
    } catch (error) {
      return { ok: false, error: (error as Error).name === "TimeoutError" ? "timeout" : (error as Error).message };
    }
  };
}
