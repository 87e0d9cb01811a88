import type { ApiRequest, ApiResponse, SimContext } from "./context.js";

export type Handler = (req: ApiRequest, ctx: SimContext) => ApiResponse | Promise<ApiResponse>;

export interface RouteOptions {
  /** Name for rate limits, logs and faults. */
  name: string;
  /** Changes state: a fault may strike after the change ("after" phase). */
  mutates?: boolean;
  /** The answer carries no Wechatpay-Signature (bill downloads). */
  unsigned?: boolean;
  /** The signature's body line, when it is not the raw body (image upload: the meta JSON). */
  signedBody?: (req: { headers: ApiRequest["headers"]; rawBody: Buffer }) => string | undefined;
}

export interface Route extends RouteOptions {
  method: string;
  segments: string[];
  handler: Handler;
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** Literal-or-`{param}` path matching; a parameter may match an empty segment so the handler can report it. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, options: RouteOptions, handler: Handler): void {
    this.routes.push({ ...options, method, segments: pattern.split("/"), handler });
  }

  match(method: string, path: string): RouteMatch | undefined {
    const segments = path.split("/");
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      let matched = true;
      for (let i = 0; i < segments.length && matched; i++) {
        const expected = route.segments[i]!;
        const actual = segments[i]!;
        if (expected.startsWith("{")) params[expected.slice(1, -1)] = decodeSegment(actual);
        else matched = expected === actual;
      }
      if (matched) return { route, params };
    }
    return undefined;
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
