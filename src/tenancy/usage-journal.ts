// The usage log's write-ahead journal: a file of JSON lines, one per finished request, appended with
// one `write` before the request's response ends. That write is what makes a record durable against
// a killed server (the kernel keeps it whatever happens to the process, like a SQLite commit with
// `synchronous = NORMAL`); the usage log moves the journal's records into the database in batches
// and then empties the journal. One write per request instead of one SQLite commit per request
// (~2 µs against 40–90 µs on this machine, docs/benchmarks.md "Gateway overhead").
//
// Each process writes its own file, `<pid>-<random>.jsonl`, in one folder per database. A process
// that opens the folder reads the other files back (`readJournals`); a file whose process is gone is
// read and then removed, a living process's file is read but left to its owner. Reading a record
// twice is harmless: the usage log keys records by request id. A line cut off by a kill mid-write, or
// otherwise not a record, is skipped and counted. Knows nothing of SQLite, HTTP or the dispatcher.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { isProcessAlive } from "../store/fs-helpers.ts";

const journalSuffix = ".jsonl";

/** One process's journal file, opened at its first append. */
export class UsageJournal {
  readonly #directory: string;
  readonly #name = `${process.pid}-${randomBytes(4).toString("hex")}${journalSuffix}`;
  #fd: number | undefined;
  /** Bytes in the file: a failed append is cut back to here, so it cannot run into the next line. */
  #size = 0;

  constructor(directory: string) {
    this.#directory = directory;
  }

  /** This journal's file (which may not exist yet). */
  get file(): string {
    return path.join(this.#directory, this.#name);
  }

  /**
   * Appends one line (ending in a line break); durable against a killed process when this returns.
   * Throws if it cannot, leaving the file as it was.
   */
  append(line: string): void {
    if (this.#fd === undefined) {
      mkdirSync(this.#directory, { recursive: true });
      this.#fd = openSync(this.file, "a", 0o600);
      this.#size = fstatSync(this.#fd).size;
    }
    const bytes = Buffer.from(line);
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(this.#fd, bytes, written);
    } catch (error) {
      try {
        ftruncateSync(this.#fd, this.#size);
      } catch {
        // The reader skips a cut-off line; the write's own error is the one to report.
      }
      throw error;
    }
    this.#size += bytes.length;
  }

  /** Empties the journal once everything in it is in the database. */
  clear(): void {
    if (this.#fd === undefined) return;
    ftruncateSync(this.#fd, 0);
    this.#size = 0;
  }

  /** Closes the file; with `remove`, deletes it (only when everything in it is in the database). */
  close(remove: boolean): void {
    if (this.#fd === undefined) return;
    closeSync(this.#fd);
    this.#fd = undefined;
    if (remove) rmSync(this.file, { force: true });
  }
}

/** What one other journal file held. */
export interface JournalContents {
  file: string;
  /** The lines that parsed as JSON objects, in order. */
  entries: unknown[];
  /** Lines that did not (a line cut off by a kill, or damage). */
  skippedLines: number;
  /** True when the process that wrote it is still running: its file is left in place. */
  ownerAlive: boolean;
}

/** Reads every journal in `directory` except `ownFile`; a missing folder holds none. */
export function readJournals(directory: string, ownFile?: string): JournalContents[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const journals: JournalContents[] = [];
  for (const name of names.sort()) {
    const file = path.join(directory, name);
    if (!name.endsWith(journalSuffix) || file === ownFile) continue;
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      // Removed by its owner or by another process reading it at the same time.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    const entries: unknown[] = [];
    let skippedLines = 0;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const entry: unknown = JSON.parse(line);
        if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) entries.push(entry);
        else skippedLines += 1;
      } catch {
        skippedLines += 1;
      }
    }
    const owner = getOwnerPid(name);
    journals.push({
      file,
      entries,
      skippedLines,
      ownerAlive: owner === process.pid || isProcessAlive(owner),
    });
  }
  return journals;
}

/** Removes a read journal whose owner is gone. */
export function removeJournal(file: string): void {
  rmSync(file, { force: true });
}

function getOwnerPid(name: string): number {
  const match = /^(\d+)-/.exec(name);
  return match ? Number(match[1]) : 0;
}
