// The MCP server over streamable HTTP at /mcp, in stateless mode: every POST gets a fresh server and
// transport (cheap: tools only), so no session state lives in memory and any instance can answer.
// Mounted inside the app, so the API's authentication, draining and body limit apply to it.
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono } from "hono";
import { createOwnedEngine } from "../../dispatch/owned-engine.ts";
import { OstromError } from "../../errors.ts";
import { createMcpServer } from "../../mcp/create-mcp-server.ts";
import type { AppContext } from "../app-context.ts";
import { toModelHandle } from "../app-context.ts";
import { type AppEnv, getPrincipal } from "../app-env.ts";

export function createMcpRoutes(context: AppContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/mcp", async (c) => {
    const knowledge = context.knowledge;
    if (!knowledge) throw new OstromError("not_found", "This server has no knowledge bases.");
    const server = createMcpServer({
      answerer: {
        knowledge,
        // The MCP caller's answers are scheduled, limited and accounted as theirs, like API requests.
        engine: createOwnedEngine(context.dispatcher, context.engine, getPrincipal(c)),
        catalog: context.models,
        async resolveModel(ref) {
          const entry = await context.models.resolve(ref);
          await context.provenance.assertServable(entry);
          return toModelHandle(entry);
        },
      },
      log: context.log,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      return await transport.handleRequest(c.req.raw);
    } finally {
      await server.close();
    }
  });
  // Stateless: no server-initiated stream to open, no session to end.
  app.on(["GET", "DELETE"], "/mcp", () => {
    throw new OstromError(
      "method_not_allowed",
      "The MCP endpoint is stateless: send JSON-RPC messages with POST.",
    );
  });
  return app;
}
