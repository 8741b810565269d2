// Authentication middleware: decides who each API request is for. Once any API key exists, every API
// path requires `Authorization: Bearer KEY` (401 `unauthorized` otherwise); with no keys the server is
// open, but only to callers on this machine (loopback), as the local user with every right. Console
// assets (HTML, JS, CSS) are public: the console signs in with a key like any other client.
import type { MiddlewareHandler } from "hono";
import { OstromError } from "../errors.ts";
import type { Counter } from "../observability/metrics-registry.ts";
import { type Authenticator, localPrincipal } from "../tenancy/principal.ts";
import type { AppEnv } from "./app-env.ts";

/** Paths under which requests must be authenticated; everything else is the console's static files. */
const protectedPrefixes = ["/v1", "/api", "/metrics", "/mcp"];

export interface AuthenticateRequestOptions {
  authenticator: Authenticator | undefined;
  /** Counts refusals by reason, for `/metrics`. */
  rejections?: Counter;
}

export function authenticateRequest(options: AuthenticateRequestOptions): MiddlewareHandler<AppEnv> {
  const { authenticator, rejections } = options;
  return async (c, next) => {
    const path = c.req.path;
    if (!protectedPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) {
      c.set("principal", localPrincipal);
      return next();
    }
    if (!authenticator?.isEnforced()) {
      if (!isLoopback(getPeerAddress(c.env))) {
        rejections?.inc({ reason: "unauthorized" });
        throw new OstromError(
          "unauthorized",
          "This server has no API keys yet and so serves only its own machine; an administrator must create a key (`ostrom key create`) to open it to others.",
        );
      }
      c.set("principal", localPrincipal);
      return next();
    }
    const token = parseBearerToken(c.req.header("authorization"));
    const principal = token === undefined ? undefined : authenticator.authenticate(token);
    if (!principal) {
      rejections?.inc({ reason: "unauthorized" });
      throw new OstromError(
        "unauthorized",
        token === undefined
          ? "An API key is required: send `Authorization: Bearer KEY`."
          : "The API key is not valid (unknown, malformed or revoked).",
      );
    }
    c.set("principal", principal);
    return next();
  };
}

function parseBearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

/** The TCP peer of a request served by @hono/node-server; undefined in in-process tests. */
function getPeerAddress(env: unknown): string | undefined {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress;
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return true;
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}
