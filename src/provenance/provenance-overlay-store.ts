// What Ostrom keeps about stored models besides the models themselves, under `<data-dir>/provenance/`:
//
//   declared/sha256-<hex>.yml     an administrator's declaration (see admin-declaration.ts)
//   signatures/sha256-<hex>.json  a verified detached signature (see model-signature.ts)
//
// Both are keyed by the file's digest, not its name: they are facts about exact bytes, so they follow
// the file through renames and never leak onto a different file that takes over a name. Writes go to
// a temp file beside the target, are synced, then renamed, so a reader sees the old or the new file,
// never half of one. `getVersion` lets caches notice changes made by another process (`ostrom
// declare` while `ostrom serve` runs). Node built-ins, `yaml`, and the declaration/signature readers.

import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import * as fs from "node:fs/promises";
import path from "node:path";
import { parseDocument } from "yaml";
import { type AdminDeclaration, parseAdminDeclaration } from "./admin-declaration.ts";
import { readSignatureRecord, type SignatureRecord } from "./model-signature.ts";

const digestPattern = /^sha256:([0-9a-f]{64})$/;
/** Declarations are small; a bigger file is a mistake, not a declaration. */
export const maxDeclarationBytes = 1024 * 1024;

export interface StoredDeclaration {
  readonly declaration: AdminDeclaration;
  /** Absolute path of the stored file. */
  readonly file: string;
}

export class ProvenanceOverlayStore {
  readonly root: string;

  /** `dataDir`: Ostrom's data directory; the overlays live in its `provenance/` folder. */
  constructor(dataDir: string) {
    this.root = path.resolve(dataDir, "provenance");
  }

  declarationPath(digest: string): string {
    return path.join(this.root, "declared", `sha256-${getHex(digest)}.yml`);
  }

  signaturePath(digest: string): string {
    return path.join(this.root, "signatures", `sha256-${getHex(digest)}.json`);
  }

  /** Changes whenever either overlay of `digest` is written or removed, by any process. */
  async getVersion(digest: string): Promise<string> {
    const [declared, signature] = await Promise.all([
      statOrUndefined(this.declarationPath(digest)),
      statOrUndefined(this.signaturePath(digest)),
    ]);
    return `${describeStats(declared)}|${describeStats(signature)}`;
  }

  /** The stored declaration; a file that no longer validates throws its `invalid_provenance_record`. */
  async readDeclaration(digest: string): Promise<StoredDeclaration | undefined> {
    const file = this.declarationPath(digest);
    const text = await readOrUndefined(file);
    if (text === undefined) return undefined;
    return { declaration: parseAdminDeclaration(text, file), file };
  }

  /**
   * Validates `yamlText` and stores it (comments kept) with `x-ostrom.declared_at` set to `now`,
   * replacing any earlier declaration. Invalid text throws before anything is written.
   */
  async writeDeclaration(
    digest: string,
    yamlText: string,
    source: string,
    now = new Date(),
  ): Promise<StoredDeclaration> {
    parseAdminDeclaration(yamlText, source);
    const document = parseDocument(yamlText, { uniqueKeys: true });
    document.setIn(["x-ostrom", "declared_at"], now.toISOString());
    const stamped = document.toString({ lineWidth: 0 });
    const declaration = parseAdminDeclaration(stamped, source);
    const file = this.declarationPath(digest);
    await writeAtomically(file, stamped);
    return { declaration, file };
  }

  /** Removes the declaration; false when there was none. */
  async clearDeclaration(digest: string): Promise<boolean> {
    return removeIfPresent(this.declarationPath(digest));
  }

  /** The stored signature if it still verifies; otherwise undefined, with the reason to `onInvalid`. */
  async readSignature(
    digest: string,
    onInvalid?: (reason: string) => void,
  ): Promise<SignatureRecord | undefined> {
    const text = await readOrUndefined(this.signaturePath(digest));
    return text === undefined ? undefined : readSignatureRecord(text, digest, onInvalid);
  }

  async writeSignature(record: SignatureRecord): Promise<void> {
    await writeAtomically(this.signaturePath(record.digest), `${JSON.stringify(record, null, 2)}\n`);
  }

  async clearSignature(digest: string): Promise<boolean> {
    return removeIfPresent(this.signaturePath(digest));
  }
}

function getHex(digest: string): string {
  const match = digestPattern.exec(digest);
  if (match === null) throw new Error(`not a sha256 digest: ${digest}`);
  return match[1]!;
}

function describeStats(stats: Stats | undefined): string {
  return stats === undefined ? "-" : `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}`;
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.stat(file);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size > maxDeclarationBytes) throw new Error(`${file} is larger than ${maxDeclarationBytes} bytes`);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const directory = path.dirname(file);
  await fs.mkdir(directory, { recursive: true });
  const temp = path.join(
    directory,
    `.${path.basename(file)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`,
  );
  try {
    const handle = await fs.open(temp, "wx");
    try {
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } finally {
    await fs.rm(temp, { force: true });
  }
  await syncDirectory(directory);
}

async function removeIfPresent(file: string): Promise<boolean> {
  try {
    await fs.rm(file);
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  await syncDirectory(path.dirname(file));
  return true;
}

async function syncDirectory(directory: string): Promise<void> {
  // Makes the rename durable; where directories cannot be opened (Windows) the rename is still atomic.
  const handle = await fs.open(directory, "r").catch(() => undefined);
  try {
    await handle?.sync().catch(() => undefined);
  } finally {
    await handle?.close();
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR");
}
