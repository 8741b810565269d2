// Every error Ostrom reports on purpose: a stable code, an HTTP status and an OpenAI error type,
// declared once here. Domain code throws `OstromError`; only `src/server/error-response.ts` turns
// errors into HTTP. This module must not depend on anything else in the project.

export const errorCatalog = {
  invalid_json: {
    status: 400,
    type: "invalid_request_error",
    description: "The request body is not valid JSON.",
  },
  invalid_parameter: {
    status: 400,
    type: "invalid_request_error",
    description: "A request parameter is missing, of the wrong type or out of range; `param` names it.",
  },
  context_length_exceeded: {
    status: 400,
    type: "invalid_request_error",
    description: "The prompt (plus `max_tokens`) does not fit in the model's context window.",
  },
  unsupported_model_capability: {
    status: 400,
    type: "invalid_request_error",
    description: "The model cannot do what was asked, e.g. embeddings from a model without them.",
  },
  invalid_model_file: {
    status: 400,
    type: "invalid_request_error",
    description: "A file is not a well-formed GGUF model (bad magic, truncated, absurd counts or offsets).",
  },
  invalid_model_reference: {
    status: 400,
    type: "invalid_request_error",
    description: "A model name, tag, URL or hub reference cannot be parsed.",
  },
  invalid_provenance_record: {
    status: 400,
    type: "invalid_request_error",
    description:
      "A provenance record, Model Openness Tool YAML file, catalog entry or serving policy is malformed; `param` is the path of the bad field.",
  },
  model_not_found: {
    status: 404,
    type: "invalid_request_error",
    description: "No model with that name is in the store.",
  },
  policy_violation: {
    status: 403,
    type: "invalid_request_error",
    description:
      "The model does not meet the serving policy set by the administrator; the message names each failed rule.",
  },
  knowledge_base_not_found: {
    status: 404,
    type: "invalid_request_error",
    description: "No knowledge base with that name exists.",
  },
  knowledge_base_exists: {
    status: 409,
    type: "invalid_request_error",
    description: "A knowledge base with that name already exists.",
  },
  document_not_found: {
    status: 404,
    type: "invalid_request_error",
    description: "No document with that id is in the knowledge base.",
  },
  document_too_large: {
    status: 413,
    type: "invalid_request_error",
    description: "A document (or one JSONL record) is larger than the configured limit for ingestion.",
  },
  document_unsupported: {
    status: 415,
    type: "invalid_request_error",
    description:
      "A document's format is not one Ostrom ingests (plain text, Markdown, HTML, PDF, DOCX, BEIR JSONL).",
  },
  document_unparseable: {
    status: 422,
    type: "invalid_request_error",
    description:
      "A document could not be parsed (corrupt, encrypted, or without extractable text); the message says why.",
  },
  unauthorized: {
    status: 401,
    type: "invalid_request_error",
    description:
      "No API key, or an unknown or revoked one, while the server requires keys (`Authorization: Bearer KEY`).",
  },
  forbidden: {
    status: 403,
    type: "invalid_request_error",
    description:
      "The API key is valid but its role may not do this (e.g. a member key on an admin endpoint).",
  },
  organization_not_found: {
    status: 404,
    type: "invalid_request_error",
    description: "No organisation with that id exists (`ostrom tenant ls` lists them).",
  },
  team_not_found: {
    status: 404,
    type: "invalid_request_error",
    description: "The organisation has no team with that id.",
  },
  api_key_not_found: {
    status: 404,
    type: "invalid_request_error",
    description: "No API key with that id exists (`ostrom key list` lists them).",
  },
  organization_exists: {
    status: 409,
    type: "invalid_request_error",
    description: "An organisation with that id (the slug of its name) already exists.",
  },
  team_exists: {
    status: 409,
    type: "invalid_request_error",
    description: "The organisation already has a team with that id (the slug of its name).",
  },
  not_found: { status: 404, type: "invalid_request_error", description: "No such endpoint." },
  method_not_allowed: {
    status: 405,
    type: "invalid_request_error",
    description: "The endpoint does not accept this method.",
  },
  request_too_large: {
    status: 413,
    type: "invalid_request_error",
    description: "The request body is larger than the configured limit (`--max-body-bytes`).",
  },
  too_many_requests: {
    status: 429,
    type: "rate_limit_error",
    description: "The model's request queue is full; retry after the time in `Retry-After`.",
  },
  queue_full_tenant: {
    status: 429,
    type: "rate_limit_error",
    description:
      "This API key already has as many requests waiting as it may; retry after the time in `Retry-After`.",
  },
  queue_full_global: {
    status: 429,
    type: "rate_limit_error",
    description:
      "The server's queue of waiting requests is full for everyone; retry after the time in `Retry-After`.",
  },
  quota_exceeded: {
    status: 429,
    type: "rate_limit_error",
    description:
      "A quota of the key, its team or its organisation (tokens per minute or per day, or concurrent requests) would be exceeded; the message names it and `Retry-After` says when it frees up.",
  },
  request_cancelled: {
    status: 499,
    type: "invalid_request_error",
    description: "The client went away or the request was aborted.",
  },
  internal_error: {
    status: 500,
    type: "server_error",
    description: "An unexpected error; details are in the server log only.",
  },
  engine_crashed: {
    status: 502,
    type: "server_error",
    description:
      "The inference process for this model died while serving the request; it restarts on the next one.",
  },
  backend_unavailable: {
    status: 503,
    type: "server_error",
    description:
      "No backend that serves the model is reachable and healthy (remote engines down, or all failed before the first token).",
  },
  insufficient_memory: {
    status: 503,
    type: "server_error",
    description:
      "Loading the model would need more memory than is available; the estimate is in the message.",
  },
  queue_timeout: {
    status: 503,
    type: "server_error",
    description:
      "The request waited in the queue until its deadline without getting a slot; the server is busy, retry later.",
  },
  shutting_down: {
    status: 503,
    type: "server_error",
    description: "The server is draining before exit and takes no new work.",
  },
  download_failed: {
    status: 502,
    type: "server_error",
    description: "No mirror or hub could deliver the file (HTTP error, network error or truncated transfer).",
  },
  checksum_mismatch: {
    status: 502,
    type: "server_error",
    description: "A downloaded file's sha256 differs from the expected one; nothing was added to the store.",
  },
  model_integrity_failed: {
    status: 500,
    type: "server_error",
    description:
      "A stored model file no longer matches the sha256 it was imported with (changed on disk: bit rot or tampering), so it is not loaded; an administrator must import or pull it again. Retrying does not help.",
  },
  signature_invalid: {
    status: 400,
    type: "invalid_request_error",
    description:
      "A model's detached signature does not verify against its sha256 digest and the given public key, or the key or signature file is malformed; nothing was imported.",
  },
  engine_build_failed: {
    status: 500,
    type: "server_error",
    description:
      "The OpenMP engine could not be built from the llama.cpp source node-llama-cpp ships (a build tool is missing or the compiler failed); the prebuilt engine stays in use.",
  },
  invalid_configuration: {
    status: 500,
    type: "server_error",
    description: "A configuration value (flag or environment variable) is invalid.",
  },
} as const satisfies Record<string, { status: number; type: string; description: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface OstromErrorOptions {
  /** The request parameter at fault, for `invalid_parameter` and similar. */
  param?: string;
  /** Seconds the client should wait before retrying; sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Finer than the code, for machines: e.g. which quota was hit (`team.tokensPerDay`); sent as `X-Ostrom-Reason`. */
  reason?: string;
  cause?: unknown;
}

/** An error whose message is written for the user and is safe to return to API clients. */
export class OstromError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly reason: string | undefined;

  constructor(code: ErrorCode, message: string, options: OstromErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OstromError";
    this.code = code;
    this.param = options.param;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.reason = options.reason;
  }

  get status(): number {
    return errorCatalog[this.code].status;
  }

  get type(): string {
    return errorCatalog[this.code].type;
  }
}

export function isOstromError(error: unknown, code?: ErrorCode): error is OstromError {
  return error instanceof OstromError && (code === undefined || error.code === code);
}

/** Shorthand for the most common error: a bad request parameter. */
export function invalidParameter(param: string, message: string): OstromError {
  return new OstromError("invalid_parameter", message, { param });
}

/** docs/errors.md: every code with its status, type and meaning, generated from the catalog. */
export function formatErrorCatalogMarkdown(): string {
  const rows = Object.entries(errorCatalog).map(
    ([code, entry]) => `| \`${code}\` | ${entry.status} | \`${entry.type}\` | ${entry.description} |`,
  );
  return [
    "# Errors",
    "",
    "<!-- Generated from src/errors.ts by `npm run docs:errors`; do not edit by hand. -->",
    "",
    'Every error Ostrom returns has OpenAI\'s shape, `{"error": {"message", "type", "param", "code"}}`,',
    "with one of these stable codes. Unknown failures are logged and answered with `internal_error`.",
    "",
    "| code | HTTP status | type | meaning |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}
