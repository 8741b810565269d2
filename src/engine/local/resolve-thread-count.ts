// How many threads a runner computes with when the configuration says 0 (auto). Measured on 2 cores
// (docs/benchmarks.md): with node-llama-cpp's prebuilt binaries, which create their ggml threads anew
// for every token, one spare core for the JavaScript threads that drive generation beats using them
// all; the OpenMP build gains from a second thread only on a quiet machine and loses 2x under load,
// so auto stays conservative for both and `--threads` opts in.

export interface ThreadCountOptions {
  /** The configured count; 0 means auto. */
  configured: number;
  /** Cores this process may use. */
  cores: number;
}

export function resolveThreadCount({ configured, cores }: ThreadCountOptions): number {
  return configured > 0 ? configured : Math.max(1, cores - 1);
}
