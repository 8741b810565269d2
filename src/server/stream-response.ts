// Streaming HTTP responses from an async iterable of JSON objects: server-sent events (OpenAI) or
// newline-delimited JSON (Ollama). The first item is pulled before the response starts, so errors
// found before generation (a prompt too long, a full queue) still get their proper HTTP status
// instead of a 200 with an error inside. A client that goes away cancels the iterable at once.
//
// Items that are ready in the same turn of the event loop go out as one chunk (one write to the
// socket instead of one per item): a remote backend's whole answer often arrives in one read, and
// writing its ~20 events one by one cost more than the rest of the streaming path (docs/benchmarks.md).
// A turn ends when a `setImmediate` armed with the chunk's first item runs; if more items came after
// it was armed, the chunk waits for one more (and only one more) such callback, because the end of an
// answer comes one callback after its last events: the usage log commits the request's record in a
// `setImmediate` of its own (group commit, src/tenancy/usage-log.ts) and the events end only then.
// An item that is not ready by the end of the turn is waited for with what was gathered already sent.
// When the whole answer is ready before the response starts, it is sent as one body (headers and all
// in one write, with a Content-Length) instead of a stream, whose headers go out in a write of their own.
// Items that are `SerializedJson` (src/util/serialized-json.ts) are written as they are.
import type { Logger } from "../util/logger.ts";
import { stringifyJson } from "../util/serialized-json.ts";
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
  encode: (value) => `data: ${stringifyJson(value)}\n\n`,
  end: "data: [DONE]\n\n",
};

const ndjsonFormat: StreamFormat = {
  contentType: "application/x-ndjson",
  encode: (value) => `${stringifyJson(value)}\n`,
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

/** What one turn gathered: text to write, and whether the items (and so the response) ended with it. */
interface Chunk {
  text: string;
  ended: boolean;
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
  /** A `next()` that was not ready when the last chunk was cut. */
  let ahead: Promise<IteratorResult<object>> | undefined;

  /** The next chunk: waits for one item, then takes every item ready until the turn ends. */
  const readChunk = async (): Promise<Chunk> => {
    let text = "";
    let turn: { ended: Promise<typeof endOfTurn>; itemsSinceArmed: number } | undefined;
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
            turn ??= armEndOfTurn();
            result = await Promise.race([next, turn.ended]);
            if (result === endOfTurn) {
              ahead = next;
              break;
            }
            turn.itemsSinceArmed += 1;
          }
        }
        if (result.done) return { text: text + (format.end ?? ""), ended: true };
        text += format.encode(result.value);
        if (text.length >= maxChunkChars) break;
      }
      return { text, ended: false };
    } catch (error) {
      // Headers are sent, or will be with this chunk: report the error in the stream, as OpenAI and
      // Ollama do, then end it.
      return { text: text + format.encode(toErrorResponseParts(error, log).body), ended: true };
    }
  };

  const responseHeaders = {
    "content-type": format.contentType,
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    ...headers,
  };
  const first = await readChunk();
  if (first.ended) return new Response(first.text, { headers: responseHeaders });
  let head: Chunk | undefined = first;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = head ?? (await readChunk());
      head = undefined;
      if (chunk.text !== "") controller.enqueue(encoder.encode(chunk.text));
      if (chunk.ended) controller.close();
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(stream, { headers: responseHeaders });
}

/**
 * The end of the current turn: a setImmediate callback, which waits for one more if items arrived
 * after it was armed (counted by the caller in `itemsSinceArmed`).
 */
function armEndOfTurn(): { ended: Promise<typeof endOfTurn>; itemsSinceArmed: number } {
  const turn = { ended: undefined as unknown as Promise<typeof endOfTurn>, itemsSinceArmed: 0 };
  turn.ended = new Promise((resolve) =>
    setImmediate(() => {
      if (turn.itemsSinceArmed === 0) resolve(endOfTurn);
      else setImmediate(resolve, endOfTurn);
    }),
  );
  return turn;
}
