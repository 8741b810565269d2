// The one place errors become HTTP: OpenAI's error shape `{error: {message, type, param, code}}`.
// Unknown errors are logged with their stack and answered with a 500 that reveals nothing.
import { isOstromError } from "../errors.ts";
import type { Logger } from "../util/logger.ts";

export interface ErrorResponseParts {
  status: number;
  headers: Record<string, string>;
  body: { error: { message: string; type: string; param: string | null; code: string } };
}

export function toErrorResponseParts(error: unknown, log: Logger): ErrorResponseParts {
  if (isOstromError(error)) {
    const headers: Record<string, string> = {};
    if (error.retryAfterSeconds !== undefined)
      headers["retry-after"] = String(Math.ceil(error.retryAfterSeconds));
    if (error.reason !== undefined) headers["x-ostrom-reason"] = error.reason;
    return {
      status: error.status,
      headers,
      body: {
        error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code },
      },
    };
  }
  log.error(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return {
    status: 500,
    headers: {},
    body: {
      error: { message: "Internal server error.", type: "server_error", param: null, code: "internal_error" },
    },
  };
}

export function toErrorResponse(error: unknown, log: Logger): Response {
  const { status, headers, body } = toErrorResponseParts(error, log);
  return Response.json(body, { status, headers });
}
