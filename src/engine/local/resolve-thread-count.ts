// How many threads a runner computes with when the configuration says 0 (auto). Measured on 2 cores
// (docs/benchmarks.md): node-llama-cpp's prebuilt binaries create their ggml threads anew for every
// token, so extra threads only pay off with a build that keeps a persistent (OpenMP) thread team.

export interface ThreadCountOptions {
  /** The configured count; 0 means auto. */
  configured: number;
  /** Cores this process may use. */
  cores: number;
  /** True when the engine build keeps its threads between tokens (the OpenMP build). */
  persistentThreadPool: boolean;
}

export function resolveThreadCount({ configured, cores, persistentThreadPool }: ThreadCountOptions): number {
  if (configured > 0) return configured;
  // Without a persistent pool, leave one core to the JavaScript threads that drive generation.
  return persistentThreadPool ? Math.max(1, cores) : Math.max(1, cores - 1);
}
