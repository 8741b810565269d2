// One call for everything Ostrom says about a GGUF file's provenance: reads its header, finds its
// catalog entry, merges both with an administrator's declaration and a verified signature, and
// assesses openness. The CLI's
// `bom` and `inspect`, the API and the load-time policy check all start here. Reads the file's header
// only (and hashes it when no digest is given); no network.

import { basename } from "node:path";
import { readGgufInfo } from "../gguf/read-gguf.ts";
import { summarizeGguf } from "../gguf/summarize-gguf.ts";
import { hashFile } from "../util/hash-file.ts";
import { assessOpenness, type OpennessAssessment } from "./assess-openness.ts";
import type { CatalogMatch, ProvenanceCatalog } from "./catalog.ts";
import { mergeProvenance, type ProvenanceFacts, type ProvenanceRecord } from "./provenance-record.ts";

export interface DescribeModelProvenanceOptions {
  /** Path of the GGUF file. */
  path: string;
  /** `sha256:<hex>` when known (the store's digest); otherwise the file is hashed. */
  digest?: string;
  catalog?: ProvenanceCatalog;
  /** What the administrator declares about this model (source `declared`). */
  declared?: ProvenanceFacts;
  /** Who signed the file, from a verified signature (source `signature`). */
  signature?: ProvenanceFacts;
  /**
   * Other names to look the model up by in the catalog when its GGUF name and source URL match no
   * entry (GGUFs often say only `general.name: llama`): the store name, the file name.
   */
  names?: readonly string[];
  signal?: AbortSignal;
}

export interface ModelProvenance {
  readonly record: ProvenanceRecord;
  readonly assessment: OpennessAssessment;
  /** The catalog entry used, if any. An entry matched only as the base model is not merged. */
  readonly catalogMatch: CatalogMatch | undefined;
}

export async function describeModelProvenance(
  options: DescribeModelProvenanceOptions,
): Promise<ModelProvenance> {
  const summary = summarizeGguf(await readGgufInfo(options.path));
  const digest = options.digest ?? `sha256:${(await hashFile(options.path, options.signal)).hex}`;
  const catalogMatch = findCatalogMatch(options, summary);
  const catalogFacts =
    catalogMatch !== undefined && catalogMatch.matchedBy !== "base-model"
      ? catalogMatch.model.facts
      : undefined;
  const record = mergeProvenance(
    { summary, digest, path: options.path },
    catalogFacts,
    options.declared,
    options.signature,
  );
  return { record, assessment: assessOpenness(record), catalogMatch };
}

function findCatalogMatch(
  options: DescribeModelProvenanceOptions,
  summary: Parameters<ProvenanceCatalog["findForGguf"]>[0],
): CatalogMatch | undefined {
  const { catalog } = options;
  if (catalog === undefined) return undefined;
  const byGguf = catalog.findForGguf(summary);
  if (byGguf !== undefined && byGguf.matchedBy !== "base-model") return byGguf;
  const fileName = basename(options.path).replace(/\.gguf$/i, "");
  for (const name of [...(options.names ?? []), fileName]) {
    const model = catalog.find(name);
    if (model !== undefined) return { model, matchedBy: "name" };
  }
  return byGguf;
}
