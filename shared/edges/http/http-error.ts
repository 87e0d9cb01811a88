/** An error the edge answers as-is: status, stable code, a message naming the field (4xx are shown to callers). */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (field: string, message: string, code = "INVALID_ARGUMENT") =>
  new HttpError(400, code, `${field}: ${message}`, field);
