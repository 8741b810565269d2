// The console's only way to the server: the same public HTTP API every other client uses (no private
// back door). Turns the OpenAI error shape into `ApiError` and streamed chat into an async iterable of
// text deltas. Depends on nothing but the browser's fetch.

/**
 * @typedef {{ id: string, object: "model", created: number, owned_by: string, digest?: string,
 *   size?: number, [field: string]: unknown }} ModelInfo
 * @typedef {{ role: "system" | "user" | "assistant", content: string }} ChatMessage
 * @typedef {{ model: string, messages: ChatMessage[], max_tokens?: number, temperature?: number,
 *   seed?: number }} ChatOptions
 * @typedef {{ text: string } | { completionTokens: number }} ChatStreamEvent a piece of the answer, or
 *   at the end the number of tokens generated
 */

/** An error answered by the API, with its stable code (see docs/errors.md) and HTTP status. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   * @param {number} status
   */
  constructor(message, code, status) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

/**
 * A one-line message for the user: the API's own message and code, or why the server was unreachable.
 * @param {unknown} error
 */
export function describeError(error) {
  if (error instanceof ApiError) return `${error.message} (${error.code})`;
  return `Could not reach the server: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * @param {() => string} getApiKey the key to send as a bearer token, or "" for none
 */
export function createApiClient(getApiKey) {
  /** @param {Record<string, string>} extra */
  function headers(extra = {}) {
    const key = getApiKey();
    return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
  }

  /**
   * @param {string} path
   * @param {AbortSignal} [signal]
   * @returns {Promise<unknown>}
   */
  async function getJson(path, signal) {
    const response = await fetch(path, { headers: headers({ accept: "application/json" }), signal });
    if (!response.ok) throw await readApiError(response);
    return response.json();
  }

  return {
    /** @returns {Promise<ModelInfo[]>} */
    async listModels() {
      const list = /** @type {{ data: ModelInfo[] }} */ (await getJson("/v1/models"));
      return list.data;
    },

    /**
     * @param {string} id
     * @returns {Promise<ModelInfo>}
     */
    async getModel(id) {
      return /** @type {ModelInfo} */ (await getJson(`/v1/models/${encodeURIComponent(id)}`));
    },

    /**
     * Streams a chat answer. Aborting `signal` closes the connection, which makes the server cancel
     * the generation at once.
     * @param {ChatOptions} options
     * @param {AbortSignal} signal
     * @returns {AsyncGenerator<ChatStreamEvent>}
     */
    async *streamChat(options, signal) {
      const response = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: headers({ "content-type": "application/json", accept: "text/event-stream" }),
        body: JSON.stringify({ ...options, stream: true, stream_options: { include_usage: true } }),
        signal,
      });
      if (!response.ok || !response.body) throw await readApiError(response);
      for await (const data of readServerSentEvents(response.body)) {
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        // Once streaming has begun, the server reports errors inside the stream.
        if (chunk.error) throw toApiError(chunk, response.status);
        const delta = chunk.choices?.[0]?.delta?.content;
        if (typeof delta === "string" && delta !== "") yield { text: delta };
        const tokens = chunk.usage?.completion_tokens;
        if (typeof tokens === "number") yield { completionTokens: tokens };
      }
    },
  };
}

/**
 * The `data` fields of a text/event-stream body, one string per event.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<string>}
 */
export async function* readServerSentEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  /** @type {string[]} */
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split(/\r\n|\n|\r/);
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
      }
    }
    if (data.length > 0) yield data.join("\n");
  } finally {
    reader.releaseLock();
  }
}

/**
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function readApiError(response) {
  try {
    return toApiError(await response.json(), response.status);
  } catch {
    return new ApiError(
      `The server answered ${response.status} ${response.statusText}.`,
      "http_error",
      response.status,
    );
  }
}

/**
 * @param {unknown} body
 * @param {number} status
 */
function toApiError(body, status) {
  const error = /** @type {{ error?: { message?: unknown, code?: unknown } }} */ (body)?.error;
  const message = typeof error?.message === "string" ? error.message : `The server answered ${status}.`;
  const code = typeof error?.code === "string" ? error.code : "unknown_error";
  return new ApiError(message, code, status);
}
