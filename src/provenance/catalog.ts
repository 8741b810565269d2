// Ostrom's provenance catalog: the Model Openness Tool YAML files in `catalog/models/` at the repository
// root (see catalog/README.md), loaded, validated, and searchable by model name, alias, hub
// repository, GGUF `general.name`, or a GGUF's base-model repository. Reads files only; no network.

import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { GgufSummary } from "../gguf/summarize-gguf.ts";
import { getMotFacts } from "./mot-facts.ts";
import { type MotRecord, parseMotYaml } from "./mot-yaml.ts";
import type { ProvenanceFacts } from "./provenance-record.ts";

export interface CatalogModel {
  /** Absolute path of the YAML file. */
  readonly file: string;
  readonly record: MotRecord;
  /** The record as provenance facts with source `catalog`. */
  readonly facts: ProvenanceFacts;
}

/** How a GGUF file was matched to an entry: the entry describes the file itself, or its base model. */
export interface CatalogMatch {
  readonly model: CatalogModel;
  readonly matchedBy: "name" | "source-url" | "base-model";
}

export interface ProvenanceCatalog {
  readonly models: readonly CatalogModel[];
  /** The entry called `name`: its MOT name, an alias, its hub repository or file name (loosely). */
  find(name: string): CatalogModel | undefined;
  /** The entry for a GGUF file, by `general.name`, source URL, then base-model repositories. */
  findForGguf(summary: Pick<GgufSummary, "name" | "provenance">): CatalogMatch | undefined;
}

/** `catalog/models` beside the sources, whether run from `src/` (tsx) or `dist/src/` (built). */
export async function findCatalogDirectory(): Promise<string> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.resolve(here, "../../catalog/models"),
    path.resolve(here, "../../../catalog/models"),
  ];
  for (const candidate of candidates) {
    if ((await stat(candidate).catch(() => undefined))?.isDirectory()) return candidate;
  }
  return candidates[0]!;
}

/** Loads every `*.yml`/`*.yaml` file of `directory`; a malformed file throws its OstromError. */
export async function loadProvenanceCatalog(directory?: string): Promise<ProvenanceCatalog> {
  const root = directory ?? (await findCatalogDirectory());
  const names = (await readdir(root)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const models = await Promise.all(
    names.map(async (name): Promise<CatalogModel> => {
      const file = path.join(root, name);
      const record = parseMotYaml(await readFile(file, "utf8"), `catalog/models/${name}`);
      return { file, record, facts: getMotFacts(record, { source: "catalog", url: file }) };
    }),
  );
  return createProvenanceCatalog(models);
}

export function createProvenanceCatalog(models: readonly CatalogModel[]): ProvenanceCatalog {
  const byKey = new Map<string, CatalogModel>();
  for (const model of models) {
    for (const name of getNames(model)) {
      const key = toKey(name);
      if (key !== "" && !byKey.has(key)) byKey.set(key, model);
    }
  }
  const find = (name: string) => byKey.get(toKey(name)) ?? byKey.get(toKey(getRepoPath(name) ?? ""));
  return {
    models,
    find,
    findForGguf(summary) {
      const provenance = summary.provenance;
      const text = (key: string) => {
        const value = provenance[key];
        return typeof value === "string" && value.trim() !== "" ? value : undefined;
      };
      for (const name of [summary.name ?? undefined, text("general.basename")]) {
        const model = name === undefined ? undefined : find(name);
        if (model !== undefined) return { model, matchedBy: "name" };
      }
      for (const url of [text("general.source.url"), text("general.source.huggingface.repository")]) {
        const model = url === undefined ? undefined : find(url);
        if (model !== undefined) return { model, matchedBy: "source-url" };
      }
      for (const key of Object.keys(provenance).sort()) {
        if (!/^general\.base_model\.\d+\.(repo_url|name)$/.test(key)) continue;
        const model = find(text(key) ?? "");
        if (model !== undefined) return { model, matchedBy: "base-model" };
      }
      return undefined;
    },
  };
}

function getNames(model: CatalogModel): string[] {
  const { release } = model.record;
  const names = [
    release.name,
    path.basename(model.file).replace(/\.ya?ml$/, ""),
    ...(model.record.ostrom?.aliases ?? []),
  ];
  const repo = release.huggingface === undefined ? undefined : getRepoPath(release.huggingface);
  return repo === undefined ? names : [...names, repo];
}

/** `owner/name` of a hub URL such as https://huggingface.co/owner/name/…; undefined otherwise. */
function getRepoPath(text: string): string | undefined {
  const match = /^https?:\/\/(?:www\.)?huggingface\.co\/(?!datasets\/|spaces\/)([^/\s]+\/[^/\s]+)/.exec(
    text.trim(),
  );
  return match?.[1];
}

function toKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}
