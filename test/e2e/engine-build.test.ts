// End to end, the real OpenMP engine build: node-llama-cpp's `source build` from the llama.cpp bundle
// it ships, with cmake and the C++ compiler, into a fresh copy of the package (as after `npm ci`), kept
// and published; then node-llama-cpp loads it as a local build and generates with a thread team.
// Takes ~4 minutes on 2 cores; skipped, saying why, where cmake, git or a C++ compiler is missing
// (`.ci/run` installs them). The bookkeeping around it is tested in src/engine/local/openmp-build.test.ts.
import assert from "node:assert/strict";
import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  findMissingBuildTools,
  findOpenMpBuild,
  installOpenMpBuild,
  prepareBuildWorkspace,
  resolveNodeLlamaCppDir,
} from "../../src/engine/local/openmp-build.ts";
import { createTempDir, getTinyModelPath } from "../helpers/test-models.ts";

const missingTools = await findMissingBuildTools();

test("builds the OpenMP engine from source into a fresh package copy, which node-llama-cpp then loads", {
  skip: missingTools.length > 0 ? `the build needs ${missingTools.join(", ")}` : false,
  timeout: 60 * 60_000,
}, async () => {
  const root = await createTempDir("ostrom-engine-build-");
  try {
    // A copy of the package as a fresh install has it: no llama.cpp checkout, no local builds.
    const packageDir = await prepareBuildWorkspace(resolveNodeLlamaCppDir(), path.join(root, "project"));
    await rm(path.join(packageDir, "llama", "llama.cpp"), { recursive: true });
    assert.equal(await findOpenMpBuild(packageDir), undefined);

    const cacheDir = path.join(root, "data", "engine");
    const outcome = await installOpenMpBuild({ packageDir, cacheDir, log: () => undefined, priority: 10 });
    assert.equal(outcome, "built");
    const folder = await findOpenMpBuild(packageDir);
    assert.ok(folder);

    const { getLlama } = (await import(
      pathToFileURL(path.join(packageDir, "dist", "index.js")).href
    )) as typeof import("node-llama-cpp");
    const llama = await getLlama({ gpu: false, build: "never", cmakeOptions: { GGML_OPENMP: "ON" } });
    assert.equal(llama.buildType, "localBuild");
    const model = await llama.loadModel({ modelPath: await getTinyModelPath() });
    const context = await model.createContext({ contextSize: 256, threads: 2 });
    // Eight decodes on two threads: each token sampled is fed back.
    let decoded = 0;
    for await (const token of context.getSequence().evaluate(model.tokenize("Once upon a time"))) {
      assert.equal(typeof token, "number");
      decoded += 1;
      if (decoded === 8) break;
    }
    assert.equal(decoded, 8);
    await context.dispose();
    await model.dispose();
    await llama.dispose();

    // After a reinstall the kept build comes back without compiling.
    await rm(path.join(packageDir, "llama", "localBuilds"), { recursive: true });
    assert.equal(await installOpenMpBuild({ packageDir, cacheDir, log: () => undefined }), "restored");
    assert.deepEqual(await readdir(path.join(packageDir, "llama", "localBuilds")), [folder]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
