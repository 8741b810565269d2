#!/usr/bin/env bash
# Opt-in: builds node-llama-cpp's native addon from the llama.cpp source it ships, with OpenMP, so that
# runners keep one persistent thread team instead of creating a thread per token (docs/benchmarks.md:
# 0.5-0.7x -> 0.9-1.0x of llama-server at 2 threads). Takes ~15 minutes on 2 cores; needs cmake and
# g++. Runners use this build when it exists and fall back to the prebuilt binaries otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
package=node_modules/node-llama-cpp
if [ ! -d "$package/llama/llama.cpp/.git" ]; then
  rm -rf "$package/llama/llama.cpp"
  git clone --quiet "$package/llama/gitRelease.bundle" "$package/llama/llama.cpp"
fi
command -v cmake >/dev/null || { apt-get update && apt-get install -y cmake; }
NODE_LLAMA_CPP_CMAKE_OPTION_GGML_OPENMP=ON node "$package/dist/cli/cli.js" source build --gpu false
