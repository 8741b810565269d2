// `ostrom mcp`: the MCP server over stdio, for MCP clients that start their tools as processes
// (`{"command": "ostrom", "args": ["mcp"]}`). Answers from the data directory's knowledge bases with
// an in-process engine. Stdout carries the protocol only: logs go to stderr.
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { createMcpServer } from "../../mcp/create-mcp-server.ts";
import { createLogger, type LogLevel } from "../../util/logger.ts";
import type { Command } from "../command.ts";
import { openLocalAnswerer } from "./open-local-answerer.ts";

export const mcpCommand: Command = {
  name: "mcp",
  usage: "ostrom mcp [--data-dir DIR] [options]",
  summary:
    "Serve knowledge-base tools (search_knowledge, list_knowledge_bases, ask) to an MCP client over stdio.",
  flags: {},
  positionals: [0, 0],
  async run(input) {
    // The logger writes to stderr, never to stdout, which carries the protocol.
    const log = createLogger(input.config.logLevel as LogLevel);
    await using answerer = await openLocalAnswerer(input, log, input.config.keepAlive);
    const server = createMcpServer({ answerer, log });
    const closed = new Promise<void>((resolve) => {
      server.server.onclose = () => resolve();
    });
    await server.connect(new StdioServerTransport());
    // The client closing our stdin ends the session.
    process.stdin.once("end", () => void server.close());
    await closed;
    return 0;
  },
};
