// Server-sent events from an async iterable of JSON objects, ending with OpenAI's `data: [DONE]`.
// The first item is pulled before the response starts, so errors found before generation (a prompt
// too long, a full queue) still get their proper HTTP status instead of a 200 with an error inside.
import type { Logger } from "../util/logger.ts";
import { toErrorResponse, toErrorResponseParts } from "./error-response.ts";

const encoder = new TextEncoder();

export async function createSseResponse(
  events: AsyncIterable<object>,
  log: Logger,
  headers: Record<string, string> = {},
): Promise<Response> {
  const iterator = events[Symbol.asyncIterator]();
  let first: IteratorResult<object>;
  try {
    first = await iterator.next();
  } catch (error) {
    return toErrorResponse(error, log);
  }
  let pending: IteratorResult<object> | undefined = first;

  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const result = pending ?? (await iterator.next());
        pending = undefined;
        if (result.done) {
          controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(result.value)}\n\n`));
      } catch (error) {
        // Headers are sent: report in the stream, as OpenAI does, then end it.
        const { body } = toErrorResponseParts(error, log);
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(body)}\n\n`));
        controller.close();
      }
    },
    async cancel() {
      // The client went away: stop generating at once.
      await iterator.return?.();
    },
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...headers,
    },
  });
}
