// The HTTP application: middleware (body limit, draining, access log), the routes, and the single
// error handler. Transport-free: `start-server.ts` binds it to a port; tests call `app.request()`.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { OstromError } from "../errors.ts";
import type { AppContext } from "./app-context.ts";
import type { AppEnv } from "./app-env.ts";
import { authenticateRequest } from "./authenticate-request.ts";
import { toErrorResponse } from "./error-response.ts";
import { createAdminRoutes } from "./routes/admin-routes.ts";
import { createConsoleRoutes } from "./routes/console-routes.ts";
import { createKnowledgeRoutes, isDocumentUpload } from "./routes/knowledge-routes.ts";
import { createMcpRoutes } from "./routes/mcp-routes.ts";
import {
  createModelAdminRoutes,
  createOllamaModelAdminRoutes,
  isModelUpload,
} from "./routes/model-admin-routes.ts";
import { createOllamaRoutes } from "./routes/ollama-routes.ts";
import { createOpenAIRoutes } from "./routes/openai-routes.ts";
import { createMetricsRoutes, createQueueRoutes } from "./routes/operations-routes.ts";

export function createApp(context: AppContext): Hono<AppEnv> {
  const { log } = context;
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    log.debug(`${c.req.method} ${c.req.path} ${c.res.status} ${Math.round(performance.now() - started)}ms`);
  });

  app.use(async (c, next) => {
    if (context.isDraining() && c.req.path !== "/health") {
      throw new OstromError("shutting_down", "The server is shutting down and takes no new requests.", {
        retryAfterSeconds: 5,
      });
    }
    await next();
  });

  app.use(
    authenticateRequest({
      authenticator: context.authenticator,
      rejections: context.dispatcher.metrics.rejections,
    }),
  );

  const limitBody = bodyLimit({
    maxSize: context.config.maxBodyBytes,
    onError: () => {
      throw new OstromError(
        "request_too_large",
        `The request body exceeds the limit of ${context.config.maxBodyBytes} bytes.`,
      );
    },
  });
  // Document and model uploads have their own, larger limits (--max-upload-bytes,
  // --max-model-upload-bytes), applied by their routes.
  app.use((c, next) => {
    if (
      isDocumentUpload(c.req.method, c.req.path) ||
      isModelUpload(c.req.method, c.req.path) ||
      c.req.method === "GET" ||
      c.req.method === "HEAD"
    )
      return next();
    // A declared length is checked as bodyLimit does, without touching `c.req.raw.body`: reading that
    // makes @hono/node-server build a whole web Request and stream for the body (~7 % of the CPU of a
    // proxied request, docs/benchmarks.md); the routes then read the body straight from the socket.
    const declared = c.req.header("content-length");
    if (declared !== undefined && c.req.header("transfer-encoding") === undefined)
      return Number.parseInt(declared, 10) > context.config.maxBodyBytes ? limitBody(c, next) : next();
    return limitBody(c, next);
  });

  app.get("/health", (c) => {
    const draining = context.isDraining();
    return c.json(
      { status: draining ? "draining" : "ok", loaded_models: context.engine.listLoaded() },
      draining ? 503 : 200,
    );
  });

  if (context.modelAdmin) app.route("/v1", createModelAdminRoutes(context, context.modelAdmin));
  app.route("/v1", createOpenAIRoutes(context));
  app.route("/v1", createKnowledgeRoutes(context));
  app.route("/", createMcpRoutes(context));
  app.route("/v1", createQueueRoutes(context));
  if (context.tenancy) app.route("/v1", createAdminRoutes(context.tenancy));
  app.route("/", createMetricsRoutes(context));
  if (context.modelAdmin) app.route("/api", createOllamaModelAdminRoutes(context, context.modelAdmin));
  app.route("/api", createOllamaRoutes(context));
  app.route("/", createConsoleRoutes());

  app.notFound((c) => {
    throw new OstromError("not_found", `No endpoint ${c.req.method} ${c.req.path}.`);
  });
  app.onError((error) => toErrorResponse(error, log));
  return app;
}
