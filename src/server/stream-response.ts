// Streaming HTTP responses from an async iterable of JSON objects: server-sent events (OpenAI) or
// newline-delimited JSON (Ollama). The first item is pulled before the response starts, so errors
// found before generation (a prompt too long, a full queue) still get their proper HTTP status
// instead of a 200 with an error inside. A client that goes away cancels the iterable at once.
import type { Logger } from "../util/logger.ts";
import { toErrorResponse, toErrorResponseParts } from "./error-response.ts";

const encoder = new TextEncoder();

interface StreamFormat {
  contentType: string;
  encode(value: object): string;
  /** Written after the last item, if anything. */
  end?: string;
}

const sseFormat: StreamFormat = {
  contentType: "text/event-stream; charset=utf-8",
  encode: (value) => `data: ${JSON.stringify(value)}\n\n`,
  end: "data: [DONE]\n\n",
};

const ndjsonFormat: StreamFormat = {
  contentType: "application/x-ndjson",
  encode: (value) => `${JSON.stringify(value)}\n`,
};

/** `headers` are added to the response, e.g. the served model's provenance. */
export function createSseResponse(
  events: AsyncIterable<object>,
  log: Logger,
  headers: Record<string, string> = {},
): Promise<Response> {
  return createStreamResponse(events, log, sseFormat, headers);
}

export function createNdjsonResponse(
  events: AsyncIterable<object>,
  log: Logger,
  headers: Record<string, string> = {},
): Promise<Response> {
  return createStreamResponse(events, log, ndjsonFormat, headers);
}

async function createStreamResponse(
  events: AsyncIterable<object>,
  log: Logger,
  format: StreamFormat,
  headers: Record<string, string>,
): Promise<Response> {
  const iterator = events[Symbol.asyncIterator]();
  let pending: IteratorResult<object> | undefined;
  try {
    pending = await iterator.next();
  } catch (error) {
    return toErrorResponse(error, log);
  }

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const result = pending ?? (await iterator.next());
        pending = undefined;
        if (result.done) {
          if (format.end) controller.enqueue(encoder.encode(format.end));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(format.encode(result.value)));
      } catch (error) {
        // Headers are sent: report the error in the stream, as OpenAI and Ollama do, then end it.
        controller.enqueue(encoder.encode(format.encode(toErrorResponseParts(error, log).body)));
        controller.close();
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": format.contentType,
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...headers,
    },
  });
}
