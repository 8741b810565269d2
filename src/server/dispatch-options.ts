// What a route passes to the dispatcher about its request: the caller (from authentication), the
// priority class it asked for (`X-Ostrom-Priority: interactive|batch`, default interactive) and the
// cancellation that follows the client (client-cancellation.ts). Also where a request's first event is
// awaited before the response starts, so a waiting request's queue position can go in a header and
// refusals keep their HTTP status.
import type { Context } from "hono";
import type { DispatchOptions } from "../dispatch/dispatcher.ts";
import type { GenerationEvent } from "../engine/engine.ts";
import { invalidParameter } from "../errors.ts";
import type { PriorityClass } from "../scheduler/fair-scheduler.ts";
import { type AppEnv, getPrincipal } from "./app-env.ts";
import { getClientCancellation } from "./client-cancellation.ts";

export function getDispatchOptions(c: Context<AppEnv>): DispatchOptions {
  return {
    owner: getPrincipal(c),
    priority: parsePriority(c.req.header("x-ostrom-priority")),
    signal: getClientCancellation(c),
  };
}

function parsePriority(value: string | undefined): PriorityClass {
  if (value === undefined || value === "" || value === "interactive") return "interactive";
  if (value === "batch") return "batch";
  throw invalidParameter(
    "X-Ostrom-Priority",
    `X-Ostrom-Priority must be "interactive" or "batch", not "${value}".`,
  );
}

export interface StartedEvents {
  events: AsyncIterable<GenerationEvent>;
  /** `x-ostrom-queue-position` when the request had to wait for a slot. */
  headers: Record<string, string>;
}

/**
 * Waits for the first event (errors before it propagate as such) and returns all events, unchanged.
 * The returned iterable hands the first event back once, then forwards each `next()`/`return()` to
 * the source iterator itself: no wrapping generator, so no extra promise or microtask per event.
 */
export async function startEvents(events: AsyncIterable<GenerationEvent>): Promise<StartedEvents> {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  const headers: Record<string, string> =
    !first.done && first.value.type === "queued"
      ? { "x-ostrom-queue-position": String(first.value.position) }
      : {};
  let replayed = false;
  let closed = first.done === true;
  const replay: AsyncIterableIterator<GenerationEvent> = {
    next() {
      if (!replayed) {
        replayed = true;
        return Promise.resolve(first);
      }
      if (closed) return Promise.resolve({ done: true, value: undefined });
      return iterator.next();
    },
    async return() {
      replayed = true;
      if (!closed) {
        closed = true;
        await iterator.return?.();
      }
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { events: replay, headers };
}
