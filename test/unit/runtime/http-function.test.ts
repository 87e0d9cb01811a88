import { describe, expect, it } from "vitest";
import { json } from "#shared/edges/http/responses.js";
import { ROUTES } from "#shared/edges/http/routes.js";
import { httpFunction } from "#shared/runtime/http-function.js";

const answer = async () => json(200, {});
const tableOf = (keys: string[]) => Object.fromEntries(keys.map((key) => [key, answer]));
const keysOf = (target: string) => ROUTES.filter((r) => r.target === target).map((r) => `${r.method} ${r.path}`);

describe("httpFunction: each HTTP function serves exactly the routes routes.ts gives it", () => {
  it("builds a handler for a table that matches its target", () => {
    expect(typeof httpFunction("send-api", tableOf(keysOf("send-api")))).toBe("function");
    expect(typeof httpFunction("api", tableOf(keysOf("api")))).toBe("function");
  });

  it("refuses, naming the route, a table that misses one of its routes or serves another function's", () => {
    expect(() => httpFunction("send-api", {})).toThrow("routes missing [POST /coupons]");
    expect(() => httpFunction("api", tableOf([...keysOf("api"), "POST /coupons"]))).toThrow(
      "not its own [POST /coupons]",
    );
  });
});
