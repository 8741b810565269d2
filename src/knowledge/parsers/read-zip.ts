// A minimal ZIP reader for DOCX: finds the central directory and inflates the named entries.
// Supports stored and deflated entries (all that Office writes); no ZIP64, no encryption.
import { inflateRawSync } from "node:zlib";

export class ZipFormatError extends Error {}

/** Reads the named entries of a ZIP archive; missing entries are absent from the result. */
export function readZipEntries(
  zip: Buffer,
  names: readonly string[],
  maxEntryBytes: number,
): Map<string, Buffer> {
  const endOfDirectory = findEndOfCentralDirectory(zip);
  const entryCount = zip.readUInt16LE(endOfDirectory + 10);
  let offset = zip.readUInt32LE(endOfDirectory + 16);
  const wanted = new Set(names);
  const entries = new Map<string, Buffer>();
  for (let index = 0; index < entryCount; index += 1) {
    if (offset + 46 > zip.length || zip.readUInt32LE(offset) !== 0x02014b50)
      throw new ZipFormatError("corrupt ZIP central directory");
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const name = zip.toString("utf8", offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;
    if (!wanted.has(name)) continue;
    if (size > maxEntryBytes) throw new ZipFormatError(`ZIP entry ${name} is too large (${size} bytes)`);
    if (localHeader + 30 > zip.length || zip.readUInt32LE(localHeader) !== 0x04034b50)
      throw new ZipFormatError(`corrupt ZIP local header for ${name}`);
    const dataStart =
      localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    if (data.length !== compressedSize) throw new ZipFormatError(`ZIP entry ${name} is truncated`);
    if (method === 0) entries.set(name, data);
    else if (method === 8) entries.set(name, inflateRawSync(data, { maxOutputLength: maxEntryBytes }));
    else throw new ZipFormatError(`ZIP entry ${name} uses unsupported compression method ${method}`);
  }
  return entries;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes at the very end.
  for (let offset = zip.length - 22; offset >= Math.max(0, zip.length - 22 - 65_535); offset -= 1) {
    if (zip.readUInt32LE(offset) === 0x06054b50) return offset;
  }
  throw new ZipFormatError("not a ZIP archive (no end of central directory)");
}
