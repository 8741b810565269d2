// Parsing of the three kinds of model reference users type: local model names (`name[:tag]`),
// pull references (URL, Hugging Face path or catalog name) and content digests (`sha256:<hex>`).
// Pure string handling: no file system, no network.

import { OstromError } from "../errors.ts";
import { type CatalogEntry, findCatalogEntry, modelCatalog } from "./catalog.ts";

/** A blob's content address, always `sha256:` followed by 64 lowercase hex digits. */
export type ModelDigest = string & { __brand: "ModelDigest" };

/** A parsed local model name. `ref` is the canonical `name:tag` form. */
export interface ModelName {
  /** Lowercase name, possibly with one `namespace/` prefix. */
  readonly name: string;
  readonly tag: string;
  readonly ref: string;
}

interface PullReferenceBase {
  /** The URL the file is ultimately fetched from when no mirror has it. */
  readonly url: string;
  /** The file's own name (last path segment), used to look it up on mirrors. */
  readonly fileName: string;
  /** The local name a pull stores the model under unless told otherwise. */
  readonly defaultName: ModelName;
}

export type PullReference =
  | (PullReferenceBase & { readonly kind: "url" })
  | (PullReferenceBase & {
      readonly kind: "huggingface";
      readonly owner: string;
      readonly repo: string;
      /** Path of the file inside the repository, e.g. `tinyllamas/stories260K.gguf`. */
      readonly path: string;
      readonly revision: string;
    })
  | (PullReferenceBase & { readonly kind: "catalog"; readonly entry: CatalogEntry });

export const defaultTag = "latest";

const maxNameLength = 200;
const maxTagLength = 128;
const nameSegmentPattern = /^[a-z0-9][a-z0-9._-]*$/;
const tagPattern = /^[a-zA-Z0-9._-]+$/;
const digestPattern = /^sha256:[0-9a-f]{64}$/;
const hexPattern = /^[0-9a-f]{64}$/;
const hubNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const revisionPattern = /^[A-Za-z0-9._-]+$/;

function invalidReference(message: string): OstromError {
  return new OstromError("invalid_model_reference", message);
}

export function isModelDigest(value: string): value is ModelDigest {
  return digestPattern.test(value);
}

/** Parses `sha256:<64 hex>`; a bare 64-digit hex string is accepted too. Hex is lowercased. */
export function parseModelDigest(text: string): ModelDigest {
  const lower = text.trim().toLowerCase();
  const candidate = hexPattern.test(lower) ? `sha256:${lower}` : lower;
  if (!isModelDigest(candidate)) {
    throw invalidReference(`"${text}" is not a model digest: expected sha256:<64 hex digits>.`);
  }
  return candidate;
}

/** The 64 hex digits of a digest, without the `sha256:` prefix. */
export function getDigestHex(digest: ModelDigest): string {
  return digest.slice("sha256:".length);
}

function checkNameSegment(segment: string, text: string): void {
  if (segment === "") {
    throw invalidReference(`Model name "${text}" has an empty part.`);
  }
  if (nameSegmentPattern.test(segment)) return;
  if (nameSegmentPattern.test(segment.toLowerCase())) {
    throw invalidReference(
      `Model names are lowercase: "${text}" is not valid, did you mean "${text.toLowerCase()}"?`,
    );
  }
  throw invalidReference(
    `Model name "${text}" is not valid: names use a-z, 0-9, ".", "_" and "-" and start with a letter or digit.`,
  );
}

/** Parses a local model name `[namespace/]name[:tag]`; the tag defaults to `latest`. */
export function parseModelName(text: string): ModelName {
  if (text === "") throw invalidReference("The model name is empty.");
  if (/\s/.test(text)) throw invalidReference(`Model name "${text}" contains whitespace.`);
  const colon = text.lastIndexOf(":");
  const name = colon === -1 ? text : text.slice(0, colon);
  const tag = colon === -1 ? defaultTag : text.slice(colon + 1);
  if (name.length > maxNameLength) {
    throw invalidReference(`Model name "${name.slice(0, 40)}…" is longer than ${maxNameLength} characters.`);
  }
  const segments = name.split("/");
  if (segments.length > 2) {
    throw invalidReference(`Model name "${name}" may have at most one "namespace/" prefix.`);
  }
  for (const segment of segments) checkNameSegment(segment, name);
  if (tag === "") throw invalidReference(`Model reference "${text}" has an empty tag after ":".`);
  if (tag.length > maxTagLength) {
    throw invalidReference(`Tag "${tag.slice(0, 40)}…" is longer than ${maxTagLength} characters.`);
  }
  if (!tagPattern.test(tag)) {
    throw invalidReference(`Tag "${tag}" is not valid: tags use letters, digits, ".", "_" and "-".`);
  }
  return { name, tag, ref: `${name}:${tag}` };
}

/**
 * A local model name made from a downloaded file's name: lowercased, `.gguf` stripped, characters
 * outside the name alphabet replaced by "-". Always valid for `parseModelName`.
 */
export function deriveModelName(fileName: string): ModelName {
  const base = fileName
    .toLowerCase()
    .replace(/\.gguf$/, "")
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+/, "")
    .replace(/[-._]+$/, "")
    .slice(0, 100);
  const name = base === "" ? "model" : base;
  return { name, tag: defaultTag, ref: `${name}:${defaultTag}` };
}

function isGgufFileName(fileName: string): boolean {
  return fileName.toLowerCase().endsWith(".gguf") && fileName.length > ".gguf".length;
}

function buildHuggingFaceReference(
  owner: string,
  repo: string,
  path: string,
  revision: string,
  text: string,
): PullReference {
  if (!hubNamePattern.test(owner) || !hubNamePattern.test(repo)) {
    throw invalidReference(`"${text}": "${owner}/${repo}" is not a valid Hugging Face repository name.`);
  }
  if (!revisionPattern.test(revision)) {
    throw invalidReference(`"${text}": revision "${revision}" is not valid.`);
  }
  const segments = path.split("/");
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === ".." || /[\\?#\s]/.test(segment)) {
      throw invalidReference(`"${text}": file path "${path}" inside the repository is not valid.`);
    }
  }
  const fileName = segments[segments.length - 1] ?? "";
  if (!isGgufFileName(fileName)) {
    throw invalidReference(
      `"${text}" does not name a .gguf file; use owner/repo/path/to/file.gguf (optionally @revision).`,
    );
  }
  const encodedPath = segments.map((segment) => encodeURIComponent(segment)).join("/");
  const url = `https://huggingface.co/${owner}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  return {
    kind: "huggingface",
    owner,
    repo,
    path,
    revision,
    url,
    fileName,
    defaultName: deriveModelName(fileName),
  };
}

/** `owner/repo/path…/file.gguf[@revision]`, already stripped of any `hf://` or `hf.co/` prefix. */
function parseHuggingFaceShorthand(spec: string, text: string): PullReference {
  const at = spec.lastIndexOf("@");
  const revision = at === -1 ? "main" : spec.slice(at + 1);
  const parts = (at === -1 ? spec : spec.slice(0, at)).split("/");
  const [owner, repo, ...pathParts] = parts;
  if (owner === undefined || repo === undefined || pathParts.length === 0) {
    throw invalidReference(
      `"${text}" is not a complete Hugging Face reference: use owner/repo/path/to/file.gguf (optionally @revision).`,
    );
  }
  return buildHuggingFaceReference(owner, repo, pathParts.join("/"), revision, text);
}

function parseUrlReference(text: string): PullReference {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidReference(`"${text}" is not a valid URL.`);
  }
  if (url.username !== "" || url.password !== "") {
    throw invalidReference("URLs with a user name or password are not supported (they would be stored).");
  }
  const rawSegments = url.pathname.split("/").filter((segment) => segment !== "");
  let segments: string[];
  try {
    segments = rawSegments.map((segment) => decodeURIComponent(segment));
  } catch {
    throw invalidReference(`"${text}" has a badly encoded path.`);
  }
  // A huggingface.co file link (resolve or the browser's blob page) is treated as a hub reference,
  // so mirrors can also be searched by owner/repo/path.
  const host = url.hostname.toLowerCase();
  const [owner, repo, action, revision, ...pathParts] = segments;
  if (
    (host === "huggingface.co" || host === "hf.co") &&
    url.search === "" &&
    owner !== undefined &&
    repo !== undefined &&
    (action === "resolve" || action === "blob") &&
    revision !== undefined &&
    pathParts.length > 0
  ) {
    return buildHuggingFaceReference(owner, repo, pathParts.join("/"), revision, text);
  }
  const fileName = segments[segments.length - 1] ?? "";
  if (!isGgufFileName(fileName)) {
    throw invalidReference(`"${text}" does not point to a .gguf file (its path must end in .gguf).`);
  }
  return { kind: "url", url: url.href, fileName, defaultName: deriveModelName(fileName) };
}

/**
 * Parses what `pull` accepts: an `http(s)://` URL of a .gguf file; a Hugging Face reference
 * (`hf://owner/repo/path/file.gguf`, `hf.co/…`, `huggingface.co/…` or bare `owner/repo/file.gguf`,
 * each optionally `@revision`); or the name of a built-in catalog entry.
 */
export function parsePullReference(text: string): PullReference {
  const trimmed = text.trim();
  if (trimmed === "") throw invalidReference("The pull reference is empty.");
  if (/^https?:\/\//i.test(trimmed)) return parseUrlReference(trimmed);
  const hubPrefix = /^(?:hf:\/\/|hf\.co\/|huggingface\.co\/)/i.exec(trimmed);
  if (hubPrefix !== null) return parseHuggingFaceShorthand(trimmed.slice(hubPrefix[0].length), trimmed);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw invalidReference(
      `"${trimmed}": only http(s):// URLs, hf:// references and catalog names can be pulled.`,
    );
  }
  if (trimmed.includes("/")) return parseHuggingFaceShorthand(trimmed, trimmed);

  const modelName = parseModelName(trimmed);
  const entry = findCatalogEntry(modelName.name, modelName.tag);
  if (entry === undefined) {
    const names = modelCatalog.map((candidate) => candidate.name).join(", ");
    throw invalidReference(
      `"${trimmed}" is not in the built-in catalog (${names}); pull a URL or a Hugging Face reference like owner/repo/file.gguf instead.`,
    );
  }
  const fileName = decodeURIComponent(new URL(entry.url).pathname.split("/").pop() ?? "");
  return {
    kind: "catalog",
    entry,
    url: entry.url,
    fileName,
    defaultName: { name: entry.name, tag: entry.tag, ref: `${entry.name}:${entry.tag}` },
  };
}
