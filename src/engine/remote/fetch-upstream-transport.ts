// An UpstreamTransport over a `fetch` function: what the remote engine's tests use to hand-make
// streams (split at every byte, stalled, erroring). Ostrom itself uses http-upstream-transport.ts,
// which costs far less CPU per request. Must not depend on the engine, the dispatcher or the server.
import { toAbortSignal } from "../../util/cancel-signal.ts";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "./upstream-transport.ts";

export class FetchUpstreamTransport implements UpstreamTransport {
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;

  /** `baseUrl` without a trailing slash, e.g. `http://10.0.0.5:8000/v1`. */
  constructor(baseUrl: string, fetchFunction: typeof fetch = globalThis.fetch) {
    this.#baseUrl = baseUrl;
    this.#fetch = fetchFunction;
  }

  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    const response = await this.#fetch(`${this.#baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: toAbortSignal(request.signal),
    });
    const reader = response.body?.getReader();
    return {
      status: response.status,
      getHeader: (name) => response.headers.get(name) ?? undefined,
      async read() {
        if (reader === undefined) return undefined;
        const { done, value } = await reader.read();
        return done ? undefined : value;
      },
      cancel() {
        reader?.cancel().catch(() => {});
      },
    };
  }

  close(): void {}
}
