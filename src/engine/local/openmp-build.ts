// The OpenMP build of node-llama-cpp's native addon: made from the llama.cpp source node-llama-cpp
// ships, so runners keep one thread team across decodes instead of creating threads for every token
// (docs/benchmarks.md: 0.5-0.9x -> ~1.0x of llama-server at 2 threads). It is built in a workspace
// of its own (a copy of the package, under `<data-dir>/engine/`), kept there, and only then published
// into node-llama-cpp's `llama/localBuilds` by one rename. So a runner never meets a half-built
// addon or node-llama-cpp's build lock, and a reinstall (`npm ci` empties node_modules) restores the
// kept build in a second instead of compiling again for minutes.
// Depends on node-llama-cpp's on-disk layout (localBuilds/<folder>/{Release,bin,buildDone.status}) and
// its `source build` command; nothing here loads the addon.
import { execFile, spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import {
  cp,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { OstromError } from "../../errors.ts";
import { isProcessAlive } from "../../store/fs-helpers.ts";

export interface OpenMpBuildOptions {
  /** node-llama-cpp's package directory, where runners look for local builds. */
  packageDir: string;
  /** Where finished builds are kept across reinstalls, beside the workspace, log and lock. */
  cacheDir: string;
  log: (message: string) => void;
  signal?: AbortSignal;
  /** Scheduling priority of the compiler processes (a nice value): 19 for a build in the background. */
  priority?: number;
  /** Also copy the compiler's output here (the log file always gets it). */
  output?: NodeJS.WritableStream;
  /**
   * Whether to give up at once when an earlier build with this cache failed (a compiler error repeats):
   * background builds do, so a server does not spend minutes of CPU on the same failure at every
   * start; `ostrom build-engine` tries again.
   */
  skipAfterFailure?: boolean;
  /** Compiles in a prepared workspace package; the default runs node-llama-cpp's `source build`. */
  compile?: (workspacePackageDir: string, context: CompileContext) => Promise<void>;
}

export interface CompileContext {
  logFile: string;
  signal: AbortSignal | undefined;
  priority: number;
  output: NodeJS.WritableStream | undefined;
}

export type OpenMpBuildOutcome =
  /** The build was already in node-llama-cpp's package. */
  | "installed"
  /** A kept build was published again (after a reinstall). */
  | "restored"
  /** Compiled now, kept and published. */
  | "built";

const buildFolderParts = ["Release", "bin", "buildDone.status"];
const lockPollMs = 2000;

/** node-llama-cpp's package directory as this process resolves it (the package exports no package.json). */
export function resolveNodeLlamaCppDir(): string {
  let directory = path.dirname(fileURLToPath(import.meta.resolve("node-llama-cpp")));
  while (!existsSync(path.join(directory, "package.json"))) {
    const parent = path.dirname(directory);
    if (parent === directory) throw new Error("node-llama-cpp's package.json was not found");
    directory = parent;
  }
  return directory;
}

/** The folder name of a complete OpenMP CPU build for this platform in `packageDir`, if one exists. */
export async function findOpenMpBuild(packageDir: string): Promise<string | undefined> {
  const localBuilds = path.join(packageDir, "llama", "localBuilds");
  const folders = await readdir(localBuilds).catch(() => []);
  const release = await readLlamaCppRelease(packageDir);
  for (const folder of folders) {
    if (folder.includes(".partial")) continue;
    if (await isOpenMpBuild(path.join(localBuilds, folder), release)) return folder;
  }
  return undefined;
}

/**
 * Makes sure `packageDir` has the OpenMP build: already there, restored from the cache, or compiled
 * (which takes ~4 minutes on 2 quiet cores). One process builds at a time per cache; others wait for it.
 * Throws `engine_build_failed` when a tool is missing or the compiler fails; the prebuilt engine is
 * untouched either way.
 */
export async function installOpenMpBuild(options: OpenMpBuildOptions): Promise<OpenMpBuildOutcome> {
  const { packageDir, signal } = options;
  if (await findOpenMpBuild(packageDir)) return "installed";
  const keyDir = path.join(options.cacheDir, await readBuildKey(packageDir));
  await mkdir(keyDir, { recursive: true });
  if (await restoreKeptBuild(keyDir, packageDir)) return "restored";

  const releaseLock = await acquireLock(path.join(keyDir, "build.lock"), options);
  try {
    // Another process may have finished while this one waited for the lock.
    if (await findOpenMpBuild(packageDir)) return "installed";
    if (await restoreKeptBuild(keyDir, packageDir)) return "restored";
    // The real compiler's tools, checked before a workspace is prepared for it.
    if (options.compile === undefined) await assertToolchain();
    const workRoot = path.join(keyDir, "work");
    const logFile = path.join(keyDir, "build.log");
    const failedMarker = path.join(keyDir, "build-failed");
    if (options.skipAfterFailure && (await stat(failedMarker).catch(() => undefined)))
      throw new OstromError(
        "engine_build_failed",
        `An earlier OpenMP engine build failed (see ${logFile}); \`ostrom build-engine\` tries again.`,
      );
    options.log(
      `building the OpenMP engine in ${workRoot} (about 4 minutes on 2 quiet cores; log: ${logFile})`,
    );
    const workPackageDir = await prepareBuildWorkspace(packageDir, workRoot);
    const compile = options.compile ?? compileWithNodeLlamaCpp;
    let folder: string | undefined;
    try {
      await compile(workPackageDir, {
        logFile,
        signal,
        priority: options.priority ?? 0,
        output: options.output,
      });
      signal?.throwIfAborted();
      folder = await findOpenMpBuild(workPackageDir);
      if (!folder)
        throw new OstromError(
          "engine_build_failed",
          `The engine build ended without a complete OpenMP build in ${workPackageDir}; see ${logFile}.`,
        );
    } catch (error) {
      // A cancelled build has not failed; a compiler error would fail again the same way.
      if (!signal?.aborted) await writeFile(failedMarker, `${new Date().toISOString()}\n`);
      throw error;
    }
    await rm(failedMarker, { force: true });
    await copyAtomically(
      path.join(workPackageDir, "llama", "localBuilds", folder),
      path.join(keyDir, folder),
    );
    await publishBuild(path.join(keyDir, folder), packageDir, folder);
    await rm(workRoot, { recursive: true, force: true });
    return "built";
  } finally {
    await releaseLock();
  }
}

/**
 * A disposable copy of node-llama-cpp under `workRoot/node_modules` (its own llama.cpp checkout and
 * build folders, every other package linked to the project's), so builds there touch nothing of the
 * project's. Returns the copy's package directory.
 */
export async function prepareBuildWorkspace(packageDir: string, workRoot: string): Promise<string> {
  await rm(workRoot, { recursive: true, force: true });
  const modules = path.join(workRoot, "node_modules");
  await mkdir(modules, { recursive: true });
  const projectModules = path.dirname(packageDir);
  const packageName = path.basename(packageDir);
  for (const entry of await readdir(projectModules)) {
    if (entry === packageName || entry.startsWith(".package-lock")) continue;
    await symlink(path.join(projectModules, entry), path.join(modules, entry));
  }
  const copy = path.join(modules, packageName);
  const skipped = new Set(
    ["llama.cpp", "localBuilds", "lastBuild.json"].map((name) => path.join(packageDir, "llama", name)),
  );
  await cp(packageDir, copy, { recursive: true, filter: (source) => !skipped.has(source) });
  await run("git", [
    "clone",
    "--quiet",
    path.join(packageDir, "llama", "gitRelease.bundle"),
    path.join(copy, "llama", "llama.cpp"),
  ]);
  return copy;
}

/** Runs `node-llama-cpp source build` with OpenMP in the workspace, output to the log file. */
async function compileWithNodeLlamaCpp(workPackageDir: string, context: CompileContext): Promise<void> {
  const log = createWriteStream(context.logFile);
  await new Promise<void>((resolve) => log.once("open", () => resolve()));
  const child = spawn(
    process.execPath,
    [
      "-e",
      buildWatchdog,
      path.join(workPackageDir, "dist", "cli", "cli.js"),
      "source",
      "build",
      "--gpu",
      "false",
    ],
    {
      cwd: path.dirname(path.dirname(workPackageDir)),
      env: { ...process.env, NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP: "ON" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (child.pid !== undefined && context.priority !== 0) {
    try {
      // Before the watchdog starts the build, which inherits it.
      os.setPriority(child.pid, context.priority);
    } catch {
      // Not allowed to change it: build at normal priority.
    }
  }
  let tail = "";
  const onOutput = (chunk: Buffer) => {
    log.write(chunk);
    context.output?.write(chunk);
    tail = (tail + chunk.toString("utf8")).slice(-2000);
  };
  child.stdout.on("data", onOutput);
  child.stderr.on("data", onOutput);
  const stop = () => child.kill("SIGTERM");
  context.signal?.addEventListener("abort", stop, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode) => resolve(exitCode));
    });
    context.signal?.throwIfAborted();
    if (code !== 0)
      throw new OstromError(
        "engine_build_failed",
        `Building the OpenMP engine failed (exit ${code}); see ${context.logFile}. Last output:\n${tail.trim()}`,
      );
  } finally {
    context.signal?.removeEventListener("abort", stop);
    await new Promise<void>((resolve) => log.end(resolve));
  }
}

/**
 * Runs the build command given as arguments in a process group of its own and stops the whole group
 * (node, cmake, the compilers) when told to (SIGTERM) or when its parent dies, even by SIGKILL: a
 * build never outlives the process that wanted it, so a later build may reuse its workspace.
 */
const buildWatchdog = `
const { spawn } = require("node:child_process");
const parent = process.ppid;
const build = spawn(process.execPath, process.argv.slice(1), { stdio: "inherit", detached: true });
const stop = () => { try { process.kill(-build.pid, "SIGKILL"); } catch {} process.exit(1); };
process.on("SIGTERM", stop);
const watch = setInterval(() => { if (process.ppid !== parent) stop(); }, 1000);
build.on("exit", (code) => { clearInterval(watch); process.exit(code ?? 1); });
`;

async function isOpenMpBuild(folder: string, llamaCppRelease: string | undefined): Promise<boolean> {
  try {
    await stat(path.join(folder, "buildDone.status"));
    await stat(path.join(folder, "Release", "llama-addon.node"));
    const metadata = JSON.parse(
      await readFile(path.join(folder, "Release", "_nlcBuildMetadata.json"), "utf8"),
    ) as { buildOptions?: BuildMetadataOptions };
    const options = metadata.buildOptions;
    return (
      options?.customCmakeOptions?.GGML_OPENMP === "ON" &&
      options.gpu === false &&
      options.platform === process.platform &&
      options.arch === process.arch &&
      (llamaCppRelease === undefined || options.llamaCpp?.release === llamaCppRelease)
    );
  } catch {
    return false;
  }
}

interface BuildMetadataOptions {
  customCmakeOptions?: Record<string, string>;
  gpu?: unknown;
  platform?: string;
  arch?: string;
  llamaCpp?: { release?: string };
}

async function readLlamaCppRelease(packageDir: string): Promise<string | undefined> {
  try {
    const info = JSON.parse(await readFile(path.join(packageDir, "llama", "llama.cpp.info.json"), "utf8"));
    return typeof info.tag === "string" ? info.tag : undefined;
  } catch {
    return undefined;
  }
}

/** Builds of one node-llama-cpp version, platform and llama.cpp release are interchangeable. */
async function readBuildKey(packageDir: string): Promise<string> {
  const manifest = JSON.parse(await readFile(path.join(packageDir, "package.json"), "utf8"));
  const release = (await readLlamaCppRelease(packageDir)) ?? "unknown";
  return `node-llama-cpp-${manifest.version}-llama.cpp-${release}-${process.platform}-${process.arch}`;
}

async function restoreKeptBuild(keyDir: string, packageDir: string): Promise<boolean> {
  const release = await readLlamaCppRelease(packageDir);
  for (const folder of await readdir(keyDir).catch(() => [])) {
    if (folder.includes(".partial") || folder === "work") continue;
    if (!(await isOpenMpBuild(path.join(keyDir, folder), release))) continue;
    await publishBuild(path.join(keyDir, folder), packageDir, folder);
    return true;
  }
  return false;
}

/** Copies a build into node-llama-cpp's localBuilds under a temporary name, then renames it in place. */
async function publishBuild(from: string, packageDir: string, folder: string): Promise<void> {
  await copyAtomically(from, path.join(packageDir, "llama", "localBuilds", folder));
}

/** Copies the parts of a build folder runners need to `to`, which appears complete or not at all. */
async function copyAtomically(from: string, to: string): Promise<void> {
  const partial = `${to}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  for (const part of buildFolderParts) {
    const source = path.join(from, part);
    if (await stat(source).catch(() => undefined))
      await cp(source, path.join(partial, part), { recursive: true });
  }
  try {
    await rename(partial, to);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    // Another process published the same build first.
    if (!(await stat(to).catch(() => undefined))) throw error;
  }
}

/** Takes the build lock, waiting while a live process holds it; a dead holder's lock is taken over. */
async function acquireLock(lockFile: string, options: OpenMpBuildOptions): Promise<() => Promise<void>> {
  let waiting = false;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const handle = await open(lockFile, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockFile).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(lockFile, "utf8").catch(() => "")).trim());
    // Our own pid here is a leftover of an earlier process that had the same id (containers reuse them).
    if (holder === process.pid || !isProcessAlive(holder)) {
      await unlink(lockFile).catch(() => undefined);
      continue;
    }
    if (!waiting)
      options.log(`another process (pid ${holder}) is building the OpenMP engine; waiting for it`);
    waiting = true;
    await sleep(lockPollMs, options.signal);
  }
}

/** The tools the real build needs that this machine lacks (cmake, git, a C++ compiler). */
export async function findMissingBuildTools(): Promise<string[]> {
  const missing: string[] = [];
  if (!(await succeeds("cmake", ["--version"]))) missing.push("cmake");
  if (!(await succeeds("git", ["--version"]))) missing.push("git");
  if (!(await succeeds("c++", ["--version"])) && !(await succeeds("g++", ["--version"])))
    missing.push("a C++ compiler");
  return missing;
}

async function assertToolchain(): Promise<void> {
  const missing = await findMissingBuildTools();
  if (missing.length > 0)
    throw new OstromError(
      "engine_build_failed",
      `Building the OpenMP engine needs ${missing.join(", ")} (on Debian or Ubuntu: ` +
        "`apt-get install cmake g++ git`); the prebuilt engine stays in use.",
    );
}

const execFileAsync = promisify(execFile);

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    await execFileAsync(command, args, { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

async function run(command: string, args: string[]): Promise<void> {
  try {
    await execFileAsync(command, args, { maxBuffer: 1024 * 1024 });
  } catch (error) {
    throw new OstromError("engine_build_failed", `\`${command} ${args.join(" ")}\` failed: ${error}`, {
      cause: error,
    });
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
