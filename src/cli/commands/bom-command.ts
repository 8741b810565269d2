// `ostrom bom MODEL|FILE.gguf`: the model's AI bill of materials, CycloneDX 1.6 JSON on stdout, built
// from its GGUF header, Ostrom's provenance catalog, the administrator's declaration and a verified
// signature (for stored models), and the openness assessment.
import { stat } from "node:fs/promises";
import { loadProvenanceCatalog } from "../../provenance/catalog.ts";
import { createCycloneDxBom } from "../../provenance/cyclonedx-bom.ts";
import { describeModelProvenance } from "../../provenance/describe-model-provenance.ts";
import { ModelProvenanceService } from "../../runtime/model-provenance-service.ts";
import { openStore } from "../../runtime/open-store.ts";
import type { Command } from "../command.ts";

export const bomCommand: Command = {
  name: "bom",
  usage: "ostrom bom MODEL|FILE.gguf",
  summary: "Print a model's AI bill of materials (CycloneDX 1.6 JSON): hash, licenses, lineage, datasets.",
  flags: {},
  positionals: [1, 1],
  async run({ config, positionals, stdout, log }) {
    const target = positionals[0]!;
    const isFile = target.endsWith(".gguf") && (await stat(target).catch(() => undefined))?.isFile();
    const entry = isFile ? undefined : await (await openStore(config)).resolve(target);
    const { record, assessment } =
      entry === undefined
        ? await describeModelProvenance({ path: target, catalog: await loadProvenanceCatalog() })
        : await (await ModelProvenanceService.create(config, log)).describe(entry);
    stdout.write(`${JSON.stringify(createCycloneDxBom(record, { assessment }), null, 2)}\n`);
    return 0;
  },
};
