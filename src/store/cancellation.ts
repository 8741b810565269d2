// Maps an aborted operation's error to the catalog's `request_cancelled`, so callers see one stable
// code whatever threw (fetch, streams, `signal.throwIfAborted()`). No dependencies beyond errors.ts.

import { isOstromError, OstromError } from "../errors.ts";

/** The error to rethrow: `request_cancelled` if `signal` has aborted, else `error` unchanged. */
export function toCancellation(error: unknown, signal: AbortSignal | undefined): unknown {
  if (isOstromError(error)) return error;
  if (signal?.aborted === true) {
    return new OstromError("request_cancelled", "The operation was cancelled.", { cause: signal.reason });
  }
  return error;
}
