// The OpenMP build's bookkeeping on real files and a real git bundle: a build happens in a workspace
// of its own, is kept, and is published whole or not at all; a kept build is restored without
// compiling; one process builds at a time. The compiler itself is replaced by a step that writes what
// node-llama-cpp's `source build` leaves behind; the real build (~4 minutes) is test/e2e/engine-build.test.ts.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { beforeEach, describe, test } from "node:test";
import { promisify } from "node:util";
import { createTempDir } from "../../../test/helpers/test-models.ts";
import { isOstromError, OstromError } from "../../errors.ts";
import { isProcessAlive } from "../../store/fs-helpers.ts";
import {
  type CompileContext,
  findOpenMpBuild,
  installOpenMpBuild,
  type OpenMpBuildOptions,
} from "./openmp-build.ts";

const run = promisify(execFile);
const folder = `${process.platform}-${process.arch}-openmp-test`;

/** A project whose node_modules holds a stand-in node-llama-cpp (with a real git bundle) and a sibling. */
async function createProject(): Promise<{ packageDir: string; cacheDir: string }> {
  const root = await createTempDir("ostrom-openmp-");
  const packageDir = path.join(root, "node_modules", "node-llama-cpp");
  await mkdir(path.join(packageDir, "llama", "localBuilds"), { recursive: true });
  await mkdir(path.join(root, "node_modules", "sibling"), { recursive: true });
  await writeFile(path.join(root, "node_modules", "sibling", "index.js"), "export default 1;\n");
  await writeFile(path.join(packageDir, "package.json"), JSON.stringify({ version: "9.9.9" }));
  await writeFile(path.join(packageDir, "llama", "llama.cpp.info.json"), JSON.stringify({ tag: "b1" }));
  const source = path.join(root, "source");
  await mkdir(source);
  await writeFile(path.join(source, "CMakeLists.txt"), "project(fake)\n");
  const git = (...args: string[]) =>
    run("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: source });
  await git("init", "--quiet");
  await git("add", ".");
  await git("commit", "--quiet", "-m", "source");
  await git("bundle", "create", path.join(packageDir, "llama", "gitRelease.bundle"), "--all");
  return { packageDir, cacheDir: path.join(root, "data", "engine") };
}

/** Writes what a finished `source build` leaves in a package's localBuilds. */
async function writeBuild(packageDir: string, options: { openMp?: boolean; done?: boolean } = {}) {
  const build = path.join(packageDir, "llama", "localBuilds", folder);
  await mkdir(path.join(build, "Release"), { recursive: true });
  await mkdir(path.join(build, "bin"), { recursive: true });
  await mkdir(path.join(build, "CMakeFiles"), { recursive: true });
  await writeFile(path.join(build, "Release", "llama-addon.node"), "addon");
  await writeFile(path.join(build, "bin", "libggml.so"), "lib");
  await writeFile(path.join(build, "CMakeFiles", "object.o"), "intermediate");
  const metadata = {
    buildOptions: {
      customCmakeOptions: { GGML_OPENMP: options.openMp === false ? "OFF" : "ON" },
      platform: process.platform,
      arch: process.arch,
      gpu: false,
      llamaCpp: { repo: "ggml-org/llama.cpp", release: "b1" },
    },
  };
  await writeFile(path.join(build, "Release", "_nlcBuildMetadata.json"), JSON.stringify(metadata));
  if (options.done !== false) await writeFile(path.join(build, "buildDone.status"), "");
}

describe("installOpenMpBuild", () => {
  let project: { packageDir: string; cacheDir: string };
  let compiles: CompileContext[];
  let options: OpenMpBuildOptions;

  beforeEach(async () => {
    project = await createProject();
    compiles = [];
    options = {
      ...project,
      log: () => undefined,
      compile: async (workPackageDir, context) => {
        compiles.push(context);
        await writeBuild(workPackageDir);
      },
    };
  });

  test("compiles in a workspace of its own, keeps the build and publishes only what runners load", async () => {
    const seen: string[] = [];
    const outcome = await installOpenMpBuild({
      ...options,
      compile: async (workPackageDir, context) => {
        assert.notEqual(workPackageDir, project.packageDir);
        // The workspace has the llama.cpp source from the bundle and the project's other packages.
        assert.ok(existsSync(path.join(workPackageDir, "llama", "llama.cpp", "CMakeLists.txt")));
        const sibling = path.join(path.dirname(workPackageDir), "sibling", "index.js");
        assert.equal(await readFile(sibling, "utf8"), "export default 1;\n");
        await writeBuild(workPackageDir, { done: false });
        seen.push(`half-built visible: ${(await findOpenMpBuild(project.packageDir)) !== undefined}`);
        await writeBuild(workPackageDir);
        compiles.push(context);
      },
    });
    assert.equal(outcome, "built");
    assert.deepEqual(seen, ["half-built visible: false"]);
    assert.equal(await findOpenMpBuild(project.packageDir), folder);
    const published = path.join(project.packageDir, "llama", "localBuilds", folder);
    assert.deepEqual((await readdir(published)).sort(), ["Release", "bin", "buildDone.status"]);
    assert.deepEqual(await readdir(path.join(project.packageDir, "llama", "localBuilds")), [folder]);
    const keyDirs = await readdir(project.cacheDir);
    assert.deepEqual(keyDirs, [`node-llama-cpp-9.9.9-llama.cpp-b1-${process.platform}-${process.arch}`]);
    const kept = await readdir(path.join(project.cacheDir, keyDirs[0]!));
    assert.ok(kept.includes(folder), "the build is kept");
    assert.ok(!kept.includes("work"), "the workspace is removed");
    assert.ok(!kept.includes("build.lock"), "the lock is released");
  });

  test("an installed build is found; after a reinstall the kept build is restored without compiling", async () => {
    assert.equal(await installOpenMpBuild(options), "built");
    assert.equal(await installOpenMpBuild(options), "installed");
    // `npm ci` empties node_modules: the published build is gone, the kept one is not.
    await rm(path.join(project.packageDir, "llama", "localBuilds"), { recursive: true });
    assert.equal(await installOpenMpBuild(options), "restored");
    assert.equal(await findOpenMpBuild(project.packageDir), folder);
    assert.equal(compiles.length, 1);
  });

  test("a build without OpenMP, or not finished, does not count", async () => {
    await writeBuild(project.packageDir, { openMp: false });
    assert.equal(await findOpenMpBuild(project.packageDir), undefined);
    await rm(path.join(project.packageDir, "llama", "localBuilds", folder), { recursive: true });
    await writeBuild(project.packageDir, { done: false });
    assert.equal(await findOpenMpBuild(project.packageDir), undefined);
  });

  test("a failed compile publishes nothing, keeps nothing and releases the lock", async () => {
    await assert.rejects(
      installOpenMpBuild({
        ...options,
        compile: async (workPackageDir) => {
          await writeBuild(workPackageDir, { done: false });
          throw new OstromError("engine_build_failed", "the compiler failed");
        },
      }),
      (error) => isOstromError(error) && error.code === "engine_build_failed",
    );
    assert.equal(await findOpenMpBuild(project.packageDir), undefined);
    assert.equal(await installOpenMpBuild(options), "built", "a later attempt can build");
  });

  test("after a failed build, background builds give up at once until a build succeeds", async () => {
    const failing = {
      ...options,
      compile: async () => {
        throw new OstromError("engine_build_failed", "the compiler failed");
      },
    };
    await assert.rejects(installOpenMpBuild(failing), /the compiler failed/);
    let compiled = false;
    const background = {
      ...options,
      skipAfterFailure: true,
      compile: async (workPackageDir: string) => {
        compiled = true;
        await writeBuild(workPackageDir);
      },
    };
    await assert.rejects(installOpenMpBuild(background), /An earlier OpenMP engine build failed/);
    assert.equal(compiled, false);
    // `ostrom build-engine` tries again; once it succeeds, the marker is gone.
    assert.equal(await installOpenMpBuild(options), "built");
    await rm(path.join(project.packageDir, "llama", "localBuilds"), { recursive: true });
    const keyDir = path.join(project.cacheDir, (await readdir(project.cacheDir))[0]!);
    await rm(path.join(keyDir, folder), { recursive: true });
    assert.equal(await installOpenMpBuild(background), "built");
    assert.equal(compiled, true);
  });

  test("a compile that ends without a complete build is an engine_build_failed error", async () => {
    await assert.rejects(
      installOpenMpBuild({ ...options, compile: async () => undefined }),
      (error) => isOstromError(error) && error.code === "engine_build_failed",
    );
    assert.equal(await findOpenMpBuild(project.packageDir), undefined);
  });

  test("waits while another live process holds the build lock, then builds", async () => {
    // Let a first build create the cache layout, then forget it (as if never built).
    assert.equal(await installOpenMpBuild(options), "built");
    const keyDir = path.join(project.cacheDir, (await readdir(project.cacheDir))[0]!);
    await rm(path.join(keyDir, folder), { recursive: true });
    await rm(path.join(project.packageDir, "llama", "localBuilds"), { recursive: true });

    const holder = spawn("sleep", ["30"]);
    const holderPid = holder.pid!;
    await writeFile(path.join(keyDir, "build.lock"), String(holderPid));
    const logged: string[] = [];
    const building = installOpenMpBuild({
      ...options,
      log: (message) => logged.push(message),
      compile: async (workPackageDir) => {
        assert.equal(isProcessAlive(holderPid), false, "compiled only after the holder was gone");
        await writeBuild(workPackageDir);
      },
    });
    while (!logged.some((message) => message.includes(`pid ${holderPid}`)))
      await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;
    assert.equal(await building, "built");
  });

  test("a lock left by a dead process is taken over", async () => {
    const dead = spawn("true");
    await new Promise((resolve) => dead.once("exit", resolve));
    const keyDir = path.join(
      project.cacheDir,
      `node-llama-cpp-9.9.9-llama.cpp-b1-${process.platform}-${process.arch}`,
    );
    await mkdir(keyDir, { recursive: true });
    await writeFile(path.join(keyDir, "build.lock"), String(dead.pid));
    assert.equal(await installOpenMpBuild(options), "built");
  });

  test("cancelling stops the build: nothing is published and the lock is released", async () => {
    const controller = new AbortController();
    const building = installOpenMpBuild({
      ...options,
      signal: controller.signal,
      compile: async (workPackageDir, context) => {
        await writeBuild(workPackageDir, { done: false });
        controller.abort(new Error("stopped"));
        context.signal?.throwIfAborted();
      },
    });
    await assert.rejects(building, /stopped/);
    assert.equal(await findOpenMpBuild(project.packageDir), undefined);
    assert.equal(await installOpenMpBuild(options), "built");
  });
});
