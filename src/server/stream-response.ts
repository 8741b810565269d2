// Streaming HTTP responses from an async iterable of JSON objects: server-sent events (OpenAI) or
// newline-delimited JSON (Ollama). The first item is pulled before the response starts, so errors
// found before generation (a prompt too long, a full queue) still get their proper HTTP status
// instead of a 200 with an error inside. A client that goes away cancels the iterable at once.
// Items that are ready in the same turn of the event loop go out as one chunk (one write to the
// socket instead of one per item): a remote backend's whole answer often arrives in one read, and
// writing its ~20 events one by one cost more than the rest of the streaming path (docs/benchmarks.md).
// An item that is not ready by the end of the turn is waited for with what was gathered already sent,
// so batching never delays an event.
import type { Logger } from "../util/logger.ts";
import { toErrorResponse, toErrorResponseParts } from "./error-response.ts";

const encoder = new TextEncoder();
/** A chunk stops growing past this many characters; the next pull goes on with the rest. */
const maxChunkChars = 64 * 1024;
const endOfTurn = Symbol("end of turn");

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
  /** A `next()` that was not ready when the last chunk went out. */
  let ahead: Promise<IteratorResult<object>> | undefined;

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let text = "";
      let turnEnded: Promise<typeof endOfTurn> | undefined;
      try {
        for (;;) {
          let result: IteratorResult<object> | typeof endOfTurn;
          if (pending) {
            result = pending;
            pending = undefined;
          } else {
            const next = ahead ?? iterator.next();
            ahead = undefined;
            if (text === "") result = await next;
            else {
              // Promises resolved in this turn settle before a setImmediate callback runs.
              turnEnded ??= new Promise((resolve) => setImmediate(resolve, endOfTurn));
              result = await Promise.race([next, turnEnded]);
              if (result === endOfTurn) {
                ahead = next;
                break;
              }
            }
          }
          if (result.done) {
            const last = text + (format.end ?? "");
            if (last !== "") controller.enqueue(encoder.encode(last));
            controller.close();
            return;
          }
          text += format.encode(result.value);
          if (text.length >= maxChunkChars) break;
        }
        controller.enqueue(encoder.encode(text));
      } catch (error) {
        // Headers are sent: report the error in the stream, as OpenAI and Ollama do, then end it.
        controller.enqueue(encoder.encode(text + format.encode(toErrorResponseParts(error, log).body)));
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
