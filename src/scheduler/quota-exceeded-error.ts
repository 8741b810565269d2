// The error a quota refusal raises: `quota_exceeded` (429) plus which limit was hit, so the HTTP layer
// can name it and metrics can count refusals by limit.
import { OstromError } from "../errors.ts";

export type QuotaLevel = "apiKey" | "team" | "organization";
export type QuotaKind = "tokensPerMinute" | "tokensPerDay" | "concurrentRequests";

export interface QuotaLimitHit {
  level: QuotaLevel;
  kind: QuotaKind;
  /** The configured limit. */
  limit: number;
}

export class QuotaExceededError extends OstromError {
  readonly limitHit: QuotaLimitHit;

  /** `retryAfterSeconds` is undefined when waiting cannot help (the request alone exceeds the limit). */
  constructor(limitHit: QuotaLimitHit, message: string, retryAfterSeconds: number | undefined) {
    super("quota_exceeded", message, {
      reason: `${limitHit.level}.${limitHit.kind}`,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
    this.name = "QuotaExceededError";
    this.limitHit = limitHit;
  }
}
