// The metrics the dispatcher and the HTTP layer record, registered once: request outcomes, tokens,
// rejections by reason, time to first token, latency and queue wait. Gauges (queue depth, backend
// health) are added by whoever owns the state they read (dispatcher.ts).
import { Counter, Histogram, MetricsRegistry } from "../observability/metrics-registry.ts";

const secondsBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createDispatchMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    requests: registry.register(
      new Counter("ostrom_requests_total", "Requests finished, by model, backend, endpoint and outcome."),
    ),
    rejections: registry.register(
      new Counter(
        "ostrom_rejections_total",
        "Requests refused before running, by reason (queue_full_tenant, quota:apiKey.tokensPerMinute, unauthorized, …).",
      ),
    ),
    tokens: registry.register(
      new Counter(
        "ostrom_tokens_total",
        "Tokens processed, by model and kind (prompt or completion); rate() gives tokens/s.",
      ),
    ),
    timeToFirstToken: registry.register(
      new Histogram(
        "ostrom_time_to_first_token_seconds",
        "From arrival to the first generated text (a whole answer asked of a remote backend: to the answer).",
        secondsBuckets,
      ),
    ),
    latency: registry.register(
      new Histogram(
        "ostrom_request_duration_seconds",
        "From arrival to the end of the response.",
        secondsBuckets,
      ),
    ),
    queueWait: registry.register(
      new Histogram(
        "ostrom_queue_wait_seconds",
        "Time spent waiting for a slot in the fair queue.",
        secondsBuckets,
      ),
    ),
  };
}

export type DispatchMetrics = ReturnType<typeof createDispatchMetrics>;
