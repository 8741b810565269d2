// Serves the web console: the static files of `<repo>/web` at `/`. Only files: the console talks to
// the server through the public API like any other client. Paths are confined to the console's
// folder (no `..`, no hidden files, no symlinks out); unknown page paths without an extension fall
// back to index.html; API paths never do, so they keep the API's own 404. Must not depend on the
// engine, the store or the configuration.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { type Context, Hono } from "hono";
import { OstromError } from "../../errors.ts";

export interface ConsoleRoutesOptions {
  /**
   * Folder of the console's files. Defaults to `web/` in the nearest folder above this module that
   * has `web/index.html`, which is the repository both from `src/` (tsx) and from `dist/` (built).
   */
  root?: string;
  /** Path prefixes that belong to the API and never fall back to the console's page. Defaults to `/v1`, `/api`, `/health`. */
  apiPrefixes?: readonly string[];
}

/** The only file types served; anything else in the folder (e.g. tsconfig.json) is a 404. */
const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};
const compressibleTypes = new Set([".html", ".js", ".css", ".svg", ".txt", ".webmanifest"]);

/**
 * Defence in depth behind the console's own rule of never parsing model output as HTML: no inline
 * or foreign scripts, and requests only to this server.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

interface CachedFile {
  mtimeMs: number;
  size: number;
  etag: string;
  body: Uint8Array;
  /** The gzip-compressed body, for compressible types that shrink. */
  gzipped: Uint8Array | undefined;
}

export function createConsoleRoutes(options: ConsoleRoutesOptions = {}): Hono {
  const root = options.root ?? findConsoleRoot();
  const apiPrefixes = options.apiPrefixes ?? ["/v1", "/api", "/health"];
  const realRoot = root === undefined ? undefined : realpath(root).catch(() => undefined);
  const cache = new Map<string, CachedFile>();
  const app = new Hono();

  app.get("*", async (c) => {
    const urlPath = new URL(c.req.url).pathname;
    if (apiPrefixes.some((prefix) => urlPath === prefix || urlPath.startsWith(`${prefix}/`))) {
      return c.notFound();
    }
    const folder = await realRoot;
    if (folder === undefined) {
      throw new OstromError("not_found", "The web console's files are not installed with this server.");
    }
    const requested = toFilePath(folder, urlPath === "/" ? "/index.html" : urlPath);
    const file =
      (requested && (await readConsoleFile(folder, requested, cache))) ??
      (isPagePath(urlPath)
        ? await readConsoleFile(folder, path.join(folder, "index.html"), cache)
        : undefined);
    if (!file) throw new OstromError("not_found", `No file ${urlPath} in the web console.`);
    return respondWithFile(c, file);
  });

  return app;
}

/** The `web/` folder beside the nearest ancestor of this module that has `web/index.html`. */
export function findConsoleRoot(start = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "web");
    if (existsSync(path.join(candidate, "index.html"))) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The file a URL path names inside `folder`, or undefined when the path is malformed or could leave
 * the folder: `..`, hidden names (`.env`), NUL bytes, backslashes, encoded slashes included.
 */
function toFilePath(folder: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0") || decoded.includes("\\")) return undefined;
  const segments = decoded.split("/").filter((segment) => segment !== "");
  if (segments.length === 0 || segments.some((segment) => segment.startsWith("."))) return undefined;
  if (!(path.extname(segments.at(-1)!) in contentTypes)) return undefined;
  const file = path.join(folder, ...segments);
  return isInside(folder, file) ? file : undefined;
}

/** A page of the single-page console (no dot in its last segment), as opposed to a missing file. */
function isPagePath(urlPath: string): boolean {
  return !path.posix.basename(urlPath).includes(".");
}

function isInside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

async function readConsoleFile(
  folder: string,
  file: string,
  cache: Map<string, CachedFile>,
): Promise<(CachedFile & { extension: string }) | undefined> {
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const extension = path.extname(file);
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return { ...cached, extension };
  // A symlink inside the folder must not lead out of it.
  if (!isInside(folder, await realpath(file))) return undefined;
  const body = new Uint8Array(await readFile(file));
  const gzipped = compressibleTypes.has(extension) ? new Uint8Array(gzipSync(body, { level: 9 })) : undefined;
  const etag = `W/"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
  const entry: CachedFile = {
    mtimeMs: info.mtimeMs,
    size: info.size,
    etag,
    body,
    gzipped: gzipped && gzipped.byteLength < body.byteLength ? gzipped : undefined,
  };
  cache.set(file, entry);
  return { ...entry, extension };
}

function respondWithFile(c: Context, file: CachedFile & { extension: string }): Response {
  const headers: Record<string, string> = {
    "content-type": contentTypes[file.extension] ?? "application/octet-stream",
    // The files have no content hashes in their names, so browsers revalidate each time (a cheap
    // 304 thanks to the ETag) and never run a stale console against a newer server.
    "cache-control": "no-cache",
    etag: file.etag,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
  if (file.extension === ".html") headers["content-security-policy"] = contentSecurityPolicy;
  if (file.gzipped) headers.vary = "accept-encoding";
  if (
    c.req
      .header("if-none-match")
      ?.split(/\s*,\s*/)
      .includes(file.etag)
  ) {
    return new Response(null, { status: 304, headers });
  }
  if (file.gzipped && acceptsGzip(c.req.header("accept-encoding"))) {
    headers["content-encoding"] = "gzip";
    return new Response(file.gzipped, { headers });
  }
  return new Response(file.body, { headers });
}

function acceptsGzip(header: string | undefined): boolean {
  const gzip = header
    ?.split(",")
    .map((part) => part.trim().toLowerCase())
    .find((part) => part === "gzip" || part.startsWith("gzip;"));
  return gzip !== undefined && !/;\s*q=0(\.0*)?$/.test(gzip);
}
