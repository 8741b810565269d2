// The built-in catalog: a few recommended small, openly licensed GGUF models, each pinned by URL
// (and by sha256 where we could verify it), so `pull <name>` works without knowing a hub path.
// Pure data plus lookups; it must not depend on the store or the network.

export interface CatalogEntry {
  /** Local model name the entry is stored under. */
  readonly name: string;
  readonly tag: string;
  /** Where the GGUF file is downloaded from (mirrors are tried first, see `pullModel`). */
  readonly url: string;
  /**
   * Expected sha256 of the file, lowercase hex. `undefined` when we could not verify it ourselves:
   * such a download is then checked only by its GGUF header.
   */
  readonly sha256: string | undefined;
  /** File size in bytes, when known; used for progress and as a sanity check. */
  readonly size: number | undefined;
  /** SPDX identifier of the weights' license. */
  readonly license: string;
  readonly description: string;
}

/** The model `ostrom` recommends when none is named. */
export const defaultModelName = "smollm2-135m-instruct";

export const modelCatalog: readonly CatalogEntry[] = [
  {
    name: "smollm2-135m-instruct",
    tag: "latest",
    // bartowski's llama.cpp quantisation of HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0 weights,
    // open training data and recipe). Not verified here: no network access when this was written, so
    // the hash and size are left undefined rather than guessed; a pull is checked by GGUF header only.
    url: "https://huggingface.co/bartowski/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct-Q8_0.gguf",
    sha256: undefined,
    size: undefined,
    license: "Apache-2.0",
    description: "SmolLM2 135M Instruct, Q8_0 (~145 MB): a small fully open chat model from Hugging Face.",
  },
  {
    name: "stories260k",
    tag: "latest",
    url: "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf",
    sha256: "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
    size: 1_185_376,
    license: "MIT",
    description:
      "Karpathy's llama2.c stories260K (1.2 MB), trained on TinyStories: a toy model for demos and tests.",
  },
];

/** The catalog entry called `name` (and `tag`, default `latest`), if any. */
export function findCatalogEntry(name: string, tag = "latest"): CatalogEntry | undefined {
  return modelCatalog.find((entry) => entry.name === name && entry.tag === tag);
}
