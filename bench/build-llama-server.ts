// Builds llama.cpp's own `llama-server` (and `llama-bench`) from the exact llama.cpp source that the
// installed node-llama-cpp ships (its `llama/gitRelease.bundle`), so benchmarks compare Ostrom against
// the same ggml code, not a newer or older one. The build is cached outside the repository in
// `${OSTROM_BENCH_CACHE:-~/.cache/ostrom-bench}` and reused when present.
//
// Usage: npx tsx bench/build-llama-server.ts [--variant openmp-off|openmp-on|all]
//
// Benchmark tooling only: nothing in `src/` may import this file.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The two builds worth comparing: node-llama-cpp's prebuilt binaries do not use OpenMP. */
export const llamaServerVariants = ["openmp-off", "openmp-on"] as const;
export type LlamaServerVariant = (typeof llamaServerVariants)[number];

export type LlamaServerBuild = {
  variant: LlamaServerVariant;
  /** llama.cpp release tag that node-llama-cpp ships, e.g. `v0.5.0`. */
  tag: string;
  /** Commit of the bundle's HEAD. */
  commit: string;
  serverPath: string;
  /** `undefined` when the `llama-bench` target failed to build (it is optional). */
  benchPath: string | undefined;
};

export type EnsureLlamaServerOptions = {
  /** Which build to make. Default: `"openmp-off"`, as node-llama-cpp's prebuilt binaries. */
  variant?: LlamaServerVariant;
  /** Parallel compile jobs. Default: 2 (this machine has 2 cores). */
  jobs?: number;
  /** Where sources and builds live. Default: `resolveBenchCacheDir()`. */
  cacheDir?: string;
  /** Print build output. Default: true. */
  verbose?: boolean;
};

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const nodeLlamaCppLlamaDir = path.join(repoRoot, "node_modules", "node-llama-cpp", "llama");

/** The benchmark cache directory, outside the repository. */
export function resolveBenchCacheDir(): string {
  return process.env.OSTROM_BENCH_CACHE ?? path.join(homedir(), ".cache", "ostrom-bench");
}

/** The path of an already built `llama-server` of `variant`, or `undefined` if it is not built. */
export function findBuiltLlamaServer(
  variant: LlamaServerVariant,
  cacheDir = resolveBenchCacheDir(),
): string | undefined {
  const serverPath = path.join(resolveBuildDir(cacheDir, readShippedTag(), variant), "bin", "llama-server");
  return existsSync(serverPath) ? serverPath : undefined;
}

/** The llama.cpp release tag node-llama-cpp ships, e.g. `v0.5.0`. */
function readShippedTag(): string {
  const info = JSON.parse(readFileSync(path.join(nodeLlamaCppLlamaDir, "llama.cpp.info.json"), "utf8")) as {
    tag: string;
  };
  return info.tag;
}

function resolveBuildDir(cacheDir: string, tag: string, variant: LlamaServerVariant): string {
  return path.join(cacheDir, `build-${tag}-${variant}`);
}

/** Returns paths to a built `llama-server`, building it first if the cache does not have it. */
export async function ensureLlamaServer(options: EnsureLlamaServerOptions = {}): Promise<LlamaServerBuild> {
  const variant = options.variant ?? "openmp-off";
  const jobs = options.jobs ?? 2;
  const cacheDir = options.cacheDir ?? resolveBenchCacheDir();
  const verbose = options.verbose ?? true;
  const log = (message: string) => {
    if (verbose) console.error(`[build-llama-server] ${message}`);
  };

  const { tag } = JSON.parse(
    readFileSync(path.join(nodeLlamaCppLlamaDir, "llama.cpp.info.json"), "utf8"),
  ) as {
    tag: string;
  };
  const bundlePath = path.join(nodeLlamaCppLlamaDir, "gitRelease.bundle");
  const sourceDir = path.join(cacheDir, `llama.cpp-${tag}`);
  const buildDir = resolveBuildDir(cacheDir, tag, variant);
  const serverPath = path.join(buildDir, "bin", "llama-server");
  const benchBinPath = path.join(buildDir, "bin", "llama-bench");

  mkdirSync(cacheDir, { recursive: true });
  await ensureBuildTools(log);

  if (!existsSync(path.join(sourceDir, "CMakeLists.txt"))) {
    log(`cloning ${bundlePath} -> ${sourceDir}`);
    const partial = `${sourceDir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    await run("git", ["clone", "--quiet", bundlePath, partial], { verbose });
    renameSync(partial, sourceDir);
  }
  const commit = (await capture("git", ["-C", sourceDir, "rev-parse", "HEAD"])).trim();

  if (existsSync(serverPath)) {
    log(`reusing ${serverPath}`);
  } else {
    log(`configuring ${variant} build of ${tag} (${commit.slice(0, 12)}) in ${buildDir}`);
    await run(
      "cmake",
      [
        "-S",
        sourceDir,
        "-B",
        buildDir,
        "-DCMAKE_BUILD_TYPE=Release",
        `-DGGML_OPENMP=${variant === "openmp-on" ? "ON" : "OFF"}`,
        "-DLLAMA_CURL=OFF",
        "-DGGML_CUDA=OFF",
        "-DGGML_VULKAN=OFF",
        "-DGGML_METAL=OFF",
        "-DLLAMA_BUILD_TESTS=OFF",
        "-DLLAMA_BUILD_EXAMPLES=OFF",
        "-DBUILD_SHARED_LIBS=OFF",
        ...(hasNinja() ? ["-G", "Ninja"] : []),
      ],
      { verbose },
    );
    log(`building llama-server with -j${jobs} (takes minutes on 2 cores)`);
    await run(
      "cmake",
      ["--build", buildDir, "--config", "Release", "-j", String(jobs), "--target", "llama-server"],
      {
        verbose,
      },
    );
  }
  if (!existsSync(benchBinPath)) {
    // llama-bench shares almost every object file with the server, so it is cheap once the server is built.
    try {
      await run(
        "cmake",
        ["--build", buildDir, "--config", "Release", "-j", String(jobs), "--target", "llama-bench"],
        { verbose },
      );
    } catch (error) {
      log(`llama-bench did not build (optional): ${String(error)}`);
    }
  }
  return { variant, tag, commit, serverPath, benchPath: existsSync(benchBinPath) ? benchBinPath : undefined };
}

function hasNinja(): boolean {
  return isOnPath("ninja");
}

function isOnPath(command: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => existsSync(path.join(dir, command)));
}

/** Installs missing build tools with apt-get (Debian); cmake and g++ are normally already present. */
async function ensureBuildTools(log: (message: string) => void): Promise<void> {
  const needed: Array<[command: string, aptPackage: string]> = [
    ["git", "git"],
    ["cmake", "cmake"],
    ["g++", "g++"],
    ["make", "make"],
  ];
  const missing = needed.filter(([command]) => !isOnPath(command)).map(([, aptPackage]) => aptPackage);
  if (missing.length === 0) return;
  log(`installing missing build tools: ${missing.join(", ")}`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const [first = "apt-get", ...rest] = [...sudo, "apt-get"];
  await run(first, [...rest, "update"], { verbose: true });
  await run(first, [...rest, "install", "-y", "--no-install-recommends", ...missing], { verbose: true });
}

function run(command: string, args: string[], { verbose }: { verbose: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", verbose ? "inherit" : "ignore", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code ?? signal}`));
    });
  });
}

function capture(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}`)),
    );
  });
}

function parseVariantsArgument(argv: string[]): LlamaServerVariant[] {
  const index = argv.indexOf("--variant");
  const value = index >= 0 ? argv[index + 1] : "openmp-off";
  if (value === "all") return [...llamaServerVariants];
  const variant = llamaServerVariants.find((candidate) => candidate === value);
  if (variant === undefined) {
    throw new Error(`--variant must be one of ${[...llamaServerVariants, "all"].join(", ")}`);
  }
  return [variant];
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const variant of parseVariantsArgument(process.argv.slice(2))) {
    const build = await ensureLlamaServer({ variant });
    console.log(JSON.stringify(build));
  }
}
