// How many threads a runner computes with, and on which engine build. Measured on 2 cores
// (docs/benchmarks.md, "Thread count"):
// - node-llama-cpp's prebuilt binaries create their ggml threads anew for every decode. On the 135M
//   shape a second thread always loses (97 vs 60 tok/s); on a 1.7B shape it wins on a quiet machine
//   (14 vs 9) and halves speed under load (4.9 vs 8.9). Auto stays at one core spare with them: never
//   the collapse, and the JavaScript threads that drive generation keep a core.
// - The OpenMP build (openmp-build.ts; `ostrom serve` makes it in the background) keeps one thread team alive between decodes, and then
//   every core pays: 135M shape 106 vs 87 tok/s, 4 streams 150-173 vs ~105, 1.7B shape 13.6 vs 8.9.
//   With it, auto uses all cores.
// An explicit count is kept; the OpenMP build is used for it from 2 threads up (at one thread there is
// no team to keep, and the prebuilt binary is a little faster).

export type EngineBuild = "openmp" | "prebuilt";

export interface ThreadCountOptions {
  /** The configured count; 0 means auto. */
  configured: number;
  /** Cores this process may use. */
  cores: number;
  /** Whether the local OpenMP build exists. */
  openMpBuildAvailable: boolean;
}

export interface ThreadPlan {
  threads: number;
  build: EngineBuild;
}

/** Whether a runner may compute with several threads, which is when the OpenMP build pays. */
export function wantsThreadTeam(configured: number, cores: number): boolean {
  return configured === 0 ? cores >= 2 : configured >= 2;
}

export function resolveThreadCount({
  configured,
  cores,
  openMpBuildAvailable,
}: ThreadCountOptions): ThreadPlan {
  const threads =
    configured > 0 ? configured : openMpBuildAvailable ? Math.max(1, cores) : Math.max(1, cores - 1);
  return { threads, build: openMpBuildAvailable && threads >= 2 ? "openmp" : "prebuilt" };
}
