import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedNotification {
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the delivery arrived. */
  at: number;
}

/** A local merchant notify endpoint that fails the first `failures` deliveries (500, or hangs when "hang"). */
export async function startReceiver(options: { failures?: number; mode?: "500" | "hang" | "drop" } = {}) {
  const received: ReceivedNotification[] = [];
  let failuresLeft = options.failures ?? 0;
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: performance.now() });
      for (const w of waiters.splice(0)) w();
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        if (options.mode === "hang") return; // never answers: the simulator's timeout fires
        if (options.mode === "drop") {
          req.socket.destroy();
          return;
        }
        res.writeHead(500, { "Content-Type": "application/json" }).end('{"code":"FAIL","message":"try later"}');
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"code":"SUCCESS","message":"成功"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/wechat/notify`,
    received,
    /** Resolves once `count` deliveries have arrived. */
    async waitFor(count: number, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${received.length} of ${count} notifications arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
