// Maps an upstream OpenAI-compatible server's refusal (HTTP status plus error body) to an OstromError.
// Upstream bodies come in several shapes: OpenAI's `{error: {message, type, param, code}}`, vLLM's older
// flat `{object: "error", message, ...}`, llama.cpp's `{error: {code: 400, type:
// "exceed_context_size_error", ...}}`, Ollama's `{error: "text"}` and FastAPI's `{detail: ...}`.
// The rule that matters to the dispatcher: whatever says "this backend cannot serve now" (5xx, 429,
// 408, bad credentials) becomes `backend_unavailable`, so the request may go to another backend;
// whatever says "this request is wrong" keeps its meaning. Pure; depends only on src/errors.ts.
import { OstromError } from "../../errors.ts";

export interface UpstreamErrorContext {
  /** The backend's name from the configuration. */
  backend: string;
  /** The model the request named upstream. */
  model: string;
  /** The upstream's Retry-After header, if it sent one. */
  retryAfter?: string | null;
}

/** Upstream messages are passed on to clients; an absurd one is cut to this many characters. */
const maxMessageChars = 1000;

export function toUpstreamError(
  status: number,
  bodyText: string,
  context: UpstreamErrorContext,
): OstromError {
  const detail = readErrorDetail(bodyText);
  const said = detail.message === undefined ? "" : `: ${detail.message}`;
  if (status >= 500 || status === 408 || status === 429 || status === 401 || status === 403) {
    const retryAfterSeconds = parseRetryAfter(context.retryAfter);
    const reason =
      status === 401 || status === 403
        ? "rejected Ostrom's credentials (check the backend's API key)"
        : `answered HTTP ${status}`;
    return new OstromError("backend_unavailable", `Backend "${context.backend}" ${reason}${said}`, {
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  if (status === 404) {
    return new OstromError(
      "model_not_found",
      `Backend "${context.backend}" does not serve model "${context.model}"${said}`,
    );
  }
  if (status === 413) {
    return new OstromError(
      "request_too_large",
      `The request is larger than backend "${context.backend}" accepts${said}`,
    );
  }
  const message = detail.message ?? `Backend "${context.backend}" refused the request with HTTP ${status}.`;
  if (isContextLengthError(detail)) return new OstromError("context_length_exceeded", message);
  if (status >= 400 && status < 500) {
    return new OstromError("invalid_parameter", message, {
      ...(detail.param === undefined ? {} : { param: detail.param }),
    });
  }
  // 1xx and 3xx that fetch did not handle: not an answer Ostrom can use.
  return new OstromError(
    "backend_unavailable",
    `Backend "${context.backend}" answered HTTP ${status}, which is not an OpenAI API response.`,
  );
}

interface ErrorDetail {
  message: string | undefined;
  param: string | undefined;
  code: string | undefined;
  type: string | undefined;
}

/** Reads message, param, code and type from whichever error shape the upstream used. */
export function readErrorDetail(bodyText: string): ErrorDetail {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    const text = bodyText.trim();
    return {
      message: text === "" ? undefined : clip(text),
      param: undefined,
      code: undefined,
      type: undefined,
    };
  }
  const outer = asRecord(body);
  const inner = asRecord(outer?.error) ?? outer;
  const message =
    asString(inner?.message) ??
    asString(outer?.error) ??
    asString(outer?.detail) ??
    asString(asRecord(asArray(outer?.detail)?.[0])?.msg);
  const code = inner?.code;
  return {
    message: message === undefined ? undefined : clip(message),
    param: asString(inner?.param),
    code: typeof code === "string" ? code : typeof code === "number" ? String(code) : undefined,
    type: asString(inner?.type),
  };
}

function isContextLengthError(detail: ErrorDetail): boolean {
  if (detail.code === "context_length_exceeded") return true;
  if (detail.type === "exceed_context_size_error") return true; // llama.cpp's server
  return /context length|context window|context size|maximum context|exceeds? the (available )?context/i.test(
    detail.message ?? "",
  );
}

/** Seconds, or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
function parseRetryAfter(value: string | null | undefined): number | undefined {
  if (value == null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function clip(text: string): string {
  return text.length > maxMessageChars ? `${text.slice(0, maxMessageChars)}…` : text;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asArray(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
