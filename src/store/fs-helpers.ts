// Small file-system helpers shared by the model store and the puller: positional writes that never
// stop short, directory fsync (so renames survive a crash), quiet removal and a process-liveness
// check for lock and temp-file owners. Node built-ins only.

import type { FileHandle } from "node:fs/promises";
import * as fs from "node:fs/promises";

/** Writes all of `data` at `position` (a single `write` may legally write fewer bytes). */
export async function writeFully(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** Makes a rename or unlink inside `directory` durable. A no-op where directories cannot be opened. */
export async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(directory, "r");
    await handle.sync();
  } catch (error) {
    // Windows cannot fsync a directory; the rename is still atomic there, just not yet durable.
    if (!isErrnoException(error) || !["EISDIR", "EPERM", "EINVAL", "EBADF"].includes(error.code ?? "")) {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

/** Removes a file if it exists; other errors still throw. */
export async function removeFileQuietly(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}

export function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

/** Whether a process with this id exists (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrnoException(error) && error.code === "EPERM";
  }
}
