// The console's only way to the server: the same public HTTP API every other client uses (no private
// back door). Turns the OpenAI error shape into `ApiError`, streamed chat into an async iterable of
// events (text, sources, queue position, token count), and uploads into XHR requests that report
// progress. Depends on nothing but the browser's fetch and XMLHttpRequest.

/**
 * @typedef {{ license?: string, mof_class?: string, osaid?: string, flags?: string[], servable?: boolean,
 *   policy_failures?: Array<{ rule: string, message: string }> }} ProvenanceSummary
 * @typedef {{ id: string, object: "model", created: number, owned_by: string, digest?: string,
 *   size?: number, provenance?: ProvenanceSummary, [field: string]: unknown }} ModelInfo
 * @typedef {{ role: "system" | "user" | "assistant", content: string }} ChatMessage
 * @typedef {{ model: string, messages: ChatMessage[], max_tokens?: number, temperature?: number,
 *   seed?: number }} ChatOptions
 * @typedef {{ index?: number, title?: string, location?: string, text?: string, score?: number,
 *   license?: string, attribution?: string, knowledge_base?: string, document_id?: string }} Source
 * @typedef {{ text: string } | { completionTokens: number } | { sources: Source[], excluded: Source[] }
 *   | { queuePosition: number }} ChatStreamEvent a piece of the answer; the sources of a grounded
 *   answer (before any token); the request's place in the queue while it waits; at the end the number
 *   of tokens generated
 * @typedef {{ key_name?: string, role?: string, organization?: string | null, team?: string | null,
 *   authenticated?: boolean }} Me
 * @typedef {{ file?: string, title?: string, status?: string,
 *   error?: string | { code?: string, message?: string } }} UploadResult
 * @typedef {{ loaded: number, total: number }} UploadProgress
 * @typedef {{ status: string, completed?: number, total?: number, id?: string }} PullStatus a line of a
 *   model pull's progress
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
 * @param {{ onUnauthorized?: (error: ApiError) => void }} [hooks] called on every 401 (a missing,
 *   wrong or revoked key), e.g. to ask for a key
 */
export function createApiClient(getApiKey, hooks = {}) {
  /** @param {Record<string, string>} extra */
  function headers(extra = {}) {
    const key = getApiKey();
    return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
  }

  /**
   * Tells the hook about a 401, unless the key has changed since the request was sent (e.g. an admin
   * just created the first key and signed in with it): then the refusal is stale.
   * @param {ApiError} error
   * @param {Record<string, string>} sent the request's headers
   */
  function report(error, sent) {
    if (error.status === 401 && headers().authorization === sent.authorization) hooks.onUnauthorized?.(error);
    return error;
  }

  /**
   * A JSON request to the API; rejects with `ApiError` on any error status.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {AbortSignal} [signal]
   * @returns {Promise<any>}
   */
  async function requestJson(method, path, body, signal) {
    const sent = headers(
      body === undefined
        ? { accept: "application/json" }
        : { accept: "application/json", "content-type": "application/json" },
    );
    const response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw report(await readApiError(response), sent);
    return response.status === 204 ? null : response.json();
  }

  /**
   * POSTs a body with upload progress (XHR rather than fetch: only XHR reports upload progress) and
   * resolves with what `accept` takes from the JSON answer; rejects with `ApiError` otherwise.
   * @template T
   * @param {string} path
   * @param {Document | XMLHttpRequestBodyInit} body
   * @param {Record<string, string>} extraHeaders
   * @param {(body: any) => T | undefined} accept
   * @param {(progress: UploadProgress) => void} onProgress
   * @param {AbortSignal} [signal]
   * @returns {Promise<T>}
   */
  function uploadWithProgress(path, body, extraHeaders, accept, onProgress, signal) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      const sent = headers({ accept: "application/json", ...extraHeaders });
      for (const [header, value] of Object.entries(sent)) xhr.setRequestHeader(header, value);
      xhr.responseType = "text";
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) onProgress({ loaded: event.loaded, total: event.total });
      });
      xhr.addEventListener("load", () => {
        let answer;
        try {
          answer = JSON.parse(xhr.responseText);
        } catch {
          answer = undefined;
        }
        const accepted = xhr.status >= 200 && xhr.status < 300 ? accept(answer) : undefined;
        if (accepted !== undefined) resolve(accepted);
        else reject(report(toApiError(answer, xhr.status), sent));
      });
      xhr.addEventListener("error", () => reject(new Error("the upload failed")));
      xhr.addEventListener("abort", () =>
        reject(new DOMException("The upload was cancelled.", "AbortError")),
      );
      signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(body);
    });
  }

  /** @param {string} name */
  const kbPath = (name) => `/v1/knowledge-bases/${encodeURIComponent(name)}`;

  return {
    requestJson,

    /** @returns {Promise<ModelInfo[]>} */
    async listModels() {
      return (await requestJson("GET", "/v1/models")).data;
    },

    /**
     * @param {string} id
     * @returns {Promise<ModelInfo>}
     */
    async getModel(id) {
      return requestJson("GET", `/v1/models/${encodeModelId(id)}`);
    },

    /**
     * The model's full provenance record and openness assessment.
     * @param {string} id
     * @returns {Promise<Record<string, unknown>>}
     */
    async getProvenance(id) {
      return requestJson("GET", `/v1/models/${encodeModelId(id)}/provenance`);
    },

    /**
     * The model's AI bill of materials (CycloneDX JSON), as a file to save.
     * @param {string} id
     * @returns {Promise<Blob>}
     */
    async getBom(id) {
      const sent = headers();
      const response = await fetch(`/v1/models/${encodeModelId(id)}/bom`, { headers: sent });
      if (!response.ok) throw report(await readApiError(response), sent);
      return response.blob();
    },

    /**
     * Pulls a model into the store (admins), yielding the server's NDJSON progress lines until
     * `{status: "success", id}`; an error line rejects with `ApiError`. Aborting `signal` cancels the pull.
     * @param {string} model a catalog name, URL or owner/repo/file.gguf
     * @param {string | undefined} name
     * @param {AbortSignal} [signal]
     * @returns {AsyncGenerator<PullStatus>}
     */
    async *pullModel(model, name, signal) {
      const sent = headers({ "content-type": "application/json", accept: "application/x-ndjson" });
      const response = await fetch("/v1/models/pull", {
        method: "POST",
        headers: sent,
        body: JSON.stringify(name ? { model, name } : { model }),
        signal,
      });
      if (!response.ok || !response.body) throw report(await readApiError(response), sent);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          const lines = buffer.split("\n");
          buffer = lines.pop() ?? "";
          for (const line of lines) {
            if (line.trim() === "") continue;
            const status = JSON.parse(line);
            if (status.error) throw toApiError(status, 500);
            yield status;
          }
        }
      } finally {
        reader.releaseLock();
      }
    },

    /**
     * Uploads a GGUF file as the raw body (admins). XHR rather than fetch: only XHR reports upload progress.
     * @param {File} file
     * @param {string} name
     * @param {(progress: UploadProgress) => void} onProgress
     * @param {AbortSignal} [signal]
     * @returns {Promise<{ id: string, size: number }>}
     */
    importModel(file, name, onProgress, signal) {
      return uploadWithProgress(
        `/v1/models/import?name=${encodeURIComponent(name)}`,
        file,
        { "content-type": "application/octet-stream" },
        (body) => (typeof body?.id === "string" ? body : undefined),
        onProgress,
        signal,
      );
    },

    /**
     * Removes a model from the store (admins).
     * @param {string} id
     */
    async deleteModel(id) {
      return requestJson("DELETE", `/v1/models/${encodeModelId(id)}`);
    },

    /** @returns {Promise<Me>} */
    async getMe() {
      return requestJson("GET", "/v1/me");
    },

    /** @returns {Promise<Array<{ name: string, description?: string, [field: string]: unknown }>>} */
    async listKnowledgeBases() {
      return (await requestJson("GET", "/v1/knowledge-bases")).data;
    },

    /** @param {{ name: string, description?: string }} base */
    createKnowledgeBase(base) {
      return requestJson("POST", "/v1/knowledge-bases", base);
    },

    /** @param {string} name */
    deleteKnowledgeBase(name) {
      return requestJson("DELETE", kbPath(name));
    },

    /**
     * @param {string} name
     * @returns {Promise<Array<Record<string, unknown>>>}
     */
    async listDocuments(name) {
      return (await requestJson("GET", `${kbPath(name)}/documents`)).data;
    },

    /**
     * @param {string} name
     * @param {string} id
     */
    deleteDocument(name, id) {
      return requestJson("DELETE", `${kbPath(name)}/documents/${encodeURIComponent(id)}`);
    },

    /**
     * @param {string} name
     * @param {string} query
     * @param {number} [limit]
     * @returns {Promise<Array<Record<string, unknown>>>}
     */
    async searchKnowledgeBase(name, query, limit) {
      return (await requestJson("POST", `${kbPath(name)}/search`, { query, limit })).data;
    },

    /**
     * Uploads files as multipart/form-data. XHR rather than fetch: only XHR reports upload progress.
     * @param {string} name
     * @param {File[]} files
     * @param {{ license: string, attribution: string }} fields
     * @param {(progress: UploadProgress) => void} onProgress
     * @param {AbortSignal} [signal]
     * @returns {Promise<UploadResult[]>}
     */
    uploadDocuments(name, files, fields, onProgress, signal) {
      const form = new FormData();
      if (fields.license) form.append("license", fields.license);
      if (fields.attribution) form.append("attribution", fields.attribution);
      for (const file of files) form.append("file", file, file.name);
      return uploadWithProgress(
        `${kbPath(name)}/documents`,
        form,
        {},
        (body) => (Array.isArray(body?.data) ? body.data : undefined),
        onProgress,
        signal,
      );
    },

    /**
     * Streams a chat answer. Aborting `signal` closes the connection, which makes the server cancel
     * the generation at once.
     * @param {ChatOptions} options
     * @param {AbortSignal} signal
     * @returns {AsyncGenerator<ChatStreamEvent>}
     */
    async *streamChat(options, signal) {
      const sent = headers({ "content-type": "application/json", accept: "text/event-stream" });
      const response = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: sent,
        body: JSON.stringify({ ...options, stream: true, stream_options: { include_usage: true } }),
        signal,
      });
      if (!response.ok || !response.body) throw report(await readApiError(response), sent);
      for await (const data of readServerSentEvents(response.body)) {
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        // Once streaming has begun, the server reports errors inside the stream.
        if (chunk.error) throw report(toApiError(chunk, response.status), sent);
        if (Array.isArray(chunk.sources)) {
          yield {
            sources: chunk.sources,
            excluded: Array.isArray(chunk.excluded_sources) ? chunk.excluded_sources : [],
          };
        }
        const position = chunk.ostrom?.queue?.position;
        if (typeof position === "number") yield { queuePosition: position };
        const delta = chunk.choices?.[0]?.delta?.content;
        if (typeof delta === "string" && delta !== "") yield { text: delta };
        const tokens = chunk.usage?.completion_tokens;
        if (typeof tokens === "number") yield { completionTokens: tokens };
      }
    },
  };
}

/**
 * A model id in a URL path: each part encoded, the slashes of `namespace/name:tag` kept (the server's
 * route takes the rest of the path).
 * @param {string} id
 */
function encodeModelId(id) {
  return id.split("/").map(encodeURIComponent).join("/");
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
