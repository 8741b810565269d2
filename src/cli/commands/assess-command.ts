// `ostrom assess FILE.yml [--json]`: judges a Model Openness Tool YAML record directly, no model file
// needed: MOF class and per-class percentages, OSI Open Source AI Definition verdict, open-washing
// flags, and each component's verdict with its reason.
import { readFile } from "node:fs/promises";
import { assessOpenness, type OpennessAssessment } from "../../provenance/assess-openness.ts";
import { getMotFacts } from "../../provenance/mot-facts.ts";
import { parseMotYaml } from "../../provenance/mot-yaml.ts";
import { mergeProvenance } from "../../provenance/provenance-record.ts";
import type { Command } from "../command.ts";

export const assessCommand: Command = {
  name: "assess",
  usage: "ostrom assess FILE.yml [--json]",
  summary: "Assess a Model Openness Tool YAML record: MOF class, OSAID 1.0 verdict, open-washing flags.",
  flags: { json: { type: "boolean", description: "Print JSON for machines." } },
  positionals: [1, 1],
  async run({ flags, positionals, stdout }) {
    const file = positionals[0]!;
    const mot = parseMotYaml(await readFile(file, "utf8"), file);
    const record = mergeProvenance(undefined, undefined, getMotFacts(mot, { source: "declared", url: file }));
    const assessment = assessOpenness(record);
    if (flags.json) {
      stdout.write(`${JSON.stringify({ model: mot.release.name, ...assessment }, null, 2)}\n`);
      return 0;
    }
    stdout.write(formatAssessment(mot.release.name, assessment));
    return 0;
  },
};

const marks = {
  open: "open",
  "open-wrong-kind": "open*",
  restricted: "restricted",
  unlicensed: "unlicensed",
  missing: "missing",
  unknown: "unverified",
} as const;

/** The text report: summary lines, then one line per component. */
export function formatAssessment(name: string, assessment: OpennessAssessment): string {
  const lines = [
    `model            ${name}`,
    `MOF class        ${assessment.mofClassLabel}`,
    ...assessment.classes.map(
      (progress) =>
        `  ${progress.label.padEnd(26)} ${String(progress.percent).padStart(3)}%  (${progress.met}/${progress.required})`,
    ),
    `OSAID 1.0        ${assessment.osaid.passes ? "pass" : "fail"}`,
    ...assessment.osaid.criteria.map((criterion) => `  ${criterion.passed ? "✓" : "✗"} ${criterion.reason}`),
    `flags            ${assessment.flags.length === 0 ? "none" : ""}`.trimEnd(),
    ...assessment.flags.map((flag) => `  ! ${flag.code}: ${flag.message}`),
    "components",
    ...assessment.components.map(
      (item) => `  ${item.name.padEnd(32)} ${marks[item.verdict].padEnd(11)} ${item.explanation}`,
    ),
    ...(assessment.warnings.length === 0
      ? []
      : ["warnings", ...assessment.warnings.map((warning) => `  ${warning}`)]),
  ];
  return `${lines.join("\n")}\n`;
}
