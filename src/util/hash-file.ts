// sha256 of a file, streamed in 1 MiB chunks so memory stays flat whatever the file's size, and
// cancellable between chunks. Depends on nothing in the project.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export interface FileHash {
  /** Lowercase hex sha256. */
  readonly hex: string;
  /** Bytes hashed. */
  readonly size: number;
}

export async function hashFile(path: string, signal?: AbortSignal): Promise<FileHash> {
  signal?.throwIfAborted();
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    hash.update(chunk);
    size += chunk.length;
  }
  return { hex: hash.digest("hex"), size };
}
