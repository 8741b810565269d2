// License names as people write them ("Apache 2.0", "BSD-3", hub ids like `llama3.2`) turned into SPDX
// expressions, and the few facts about each license that openness assessment needs: is it OSI-approved,
// is it an open-data or open-document license, what was it written for, and does it restrict use.
// Pure data and string work; it must not depend on anything else in the project.
//
// Licenses that SPDX does not list (model licenses such as Llama's or Gemma's) are kept as
// `LicenseRef-…` ids. A name we do not recognise also becomes a `LicenseRef-…` id, marked
// unrecognised, so it is kept for display but never counted as open.

/** What a license was written for. `weights-custom` is a bespoke model license (Llama, Gemma, RAIL…). */
export type LicenseKind = "code" | "data" | "document" | "weights-custom";

export interface LicenseFacts {
  /** SPDX license id, or `LicenseRef-…` for licenses SPDX does not list. */
  readonly id: string;
  readonly name: string;
  /** On the Open Source Initiative's list of approved licenses. */
  readonly osiApproved: boolean;
  /** What the license is primarily written for. */
  readonly kind: LicenseKind;
  /** An open-data license (CDLA, ODC, CC BY/BY-SA, CC0…): fit for datasets and parameters. */
  readonly openData: boolean;
  /** An open license for documentation and papers (CC BY, CC BY-SA, CC0, GFDL…). */
  readonly openDocument: boolean;
  /**
   * How the license restricts use or field of use (acceptable-use policies, non-commercial clauses,
   * user caps), or null when it does not.
   */
  readonly useRestrictions: string | null;
  /** Where the license text is published. */
  readonly url: string;
}

/** Whether a license is open for a kind of artefact (the MOF's test for "type-appropriate"). */
export function isOpenFor(facts: LicenseFacts, kind: LicenseKind): boolean {
  switch (kind) {
    case "code":
      return facts.osiApproved;
    case "data":
      return facts.openData;
    case "document":
      return facts.openDocument;
    case "weights-custom":
      return false;
    default:
      return kind satisfies never;
  }
}

/** Open for some kind of artefact, whichever. */
export function isOpenLicense(facts: LicenseFacts): boolean {
  return facts.osiApproved || facts.openData || facts.openDocument;
}

interface LicenseRow {
  id: string;
  name: string;
  kind: LicenseKind;
  osi?: boolean;
  openData?: boolean;
  openDocument?: boolean;
  restrictions?: string;
  url?: string;
  /** Other ways people write it; hub ids and free text, matched loosely (see `toLooseKey`). */
  aliases?: string[];
}

const spdxUrl = (id: string) => `https://spdx.org/licenses/${id}.html`;

const rows: LicenseRow[] = [
  // OSI-approved software licenses.
  {
    id: "Apache-2.0",
    name: "Apache License 2.0",
    kind: "code",
    osi: true,
    aliases: ["apache 2", "apache2", "asl 2.0", "apache software 2.0", "al2"],
  },
  { id: "MIT", name: "MIT License", kind: "code", osi: true, aliases: ["expat", "mit x11"] },
  { id: "MIT-0", name: "MIT No Attribution", kind: "code", osi: true },
  {
    id: "BSD-2-Clause",
    name: "BSD 2-Clause License",
    kind: "code",
    osi: true,
    aliases: ["bsd 2", "simplified bsd", "freebsd"],
  },
  {
    id: "BSD-3-Clause",
    name: "BSD 3-Clause License",
    kind: "code",
    osi: true,
    aliases: ["bsd 3", "new bsd", "modified bsd", "revised bsd"],
  },
  { id: "BSD-3-Clause-Clear", name: "BSD 3-Clause Clear License", kind: "code", osi: false },
  { id: "0BSD", name: "BSD Zero Clause License", kind: "code", osi: true },
  { id: "ISC", name: "ISC License", kind: "code", osi: true },
  { id: "MPL-2.0", name: "Mozilla Public License 2.0", kind: "code", osi: true },
  {
    id: "GPL-2.0-only",
    name: "GNU General Public License v2.0 only",
    kind: "code",
    osi: true,
    aliases: ["gpl 2.0", "gpl2", "gplv2", "gnu gpl 2.0", "gpl-2.0"],
  },
  {
    id: "GPL-2.0-or-later",
    name: "GNU General Public License v2.0 or later",
    kind: "code",
    osi: true,
    aliases: ["gpl 2.0+", "gplv2+"],
  },
  {
    id: "GPL-3.0-only",
    name: "GNU General Public License v3.0 only",
    kind: "code",
    osi: true,
    aliases: ["gpl 3.0", "gpl3", "gplv3", "gnu gpl 3.0", "gpl-3.0"],
  },
  {
    id: "GPL-3.0-or-later",
    name: "GNU General Public License v3.0 or later",
    kind: "code",
    osi: true,
    aliases: ["gpl 3.0+", "gplv3+"],
  },
  {
    id: "LGPL-2.1-only",
    name: "GNU Lesser General Public License v2.1 only",
    kind: "code",
    osi: true,
    aliases: ["lgpl 2.1", "lgpl-2.1"],
  },
  {
    id: "LGPL-3.0-only",
    name: "GNU Lesser General Public License v3.0 only",
    kind: "code",
    osi: true,
    aliases: ["lgpl 3.0", "lgpl-3.0"],
  },
  {
    id: "AGPL-3.0-only",
    name: "GNU Affero General Public License v3.0 only",
    kind: "code",
    osi: true,
    aliases: ["agpl 3.0", "agpl", "agplv3", "agpl-3.0"],
  },
  { id: "EPL-2.0", name: "Eclipse Public License 2.0", kind: "code", osi: true },
  { id: "EUPL-1.2", name: "European Union Public License 1.2", kind: "code", osi: true },
  { id: "BSL-1.0", name: "Boost Software License 1.0", kind: "code", osi: true, aliases: ["boost"] },
  { id: "Zlib", name: "zlib License", kind: "code", osi: true },
  { id: "Unlicense", name: "The Unlicense", kind: "code", osi: true, aliases: ["unlicense"] },
  { id: "Artistic-2.0", name: "Artistic License 2.0", kind: "code", osi: true },
  { id: "UPL-1.0", name: "Universal Permissive License 1.0", kind: "code", osi: true },
  { id: "ECL-2.0", name: "Educational Community License 2.0", kind: "code", osi: true },
  { id: "OSL-3.0", name: "Open Software License 3.0", kind: "code", osi: true },
  { id: "AFL-3.0", name: "Academic Free License 3.0", kind: "code", osi: true },
  { id: "PostgreSQL", name: "PostgreSQL License", kind: "code", osi: true },
  { id: "NCSA", name: "University of Illinois/NCSA Open Source License", kind: "code", osi: true },
  { id: "MS-PL", name: "Microsoft Public License", kind: "code", osi: true },
  { id: "OFL-1.1", name: "SIL Open Font License 1.1", kind: "code", osi: true },
  { id: "WTFPL", name: "Do What The F*ck You Want To Public License", kind: "code", osi: false },
  // Open-data licenses.
  {
    id: "CDLA-Permissive-1.0",
    name: "Community Data License Agreement – Permissive 1.0",
    kind: "data",
    openData: true,
  },
  {
    id: "CDLA-Permissive-2.0",
    name: "Community Data License Agreement – Permissive 2.0",
    kind: "data",
    openData: true,
  },
  {
    id: "CDLA-Sharing-1.0",
    name: "Community Data License Agreement – Sharing 1.0",
    kind: "data",
    openData: true,
  },
  {
    id: "ODC-By-1.0",
    name: "Open Data Commons Attribution License 1.0",
    kind: "data",
    openData: true,
    aliases: ["odc by", "odc-by"],
  },
  {
    id: "ODbL-1.0",
    name: "Open Data Commons Open Database License 1.0",
    kind: "data",
    openData: true,
    aliases: ["odbl"],
  },
  {
    id: "PDDL-1.0",
    name: "Open Data Commons Public Domain Dedication and License 1.0",
    kind: "data",
    openData: true,
    aliases: ["pddl"],
  },
  {
    id: "CC0-1.0",
    name: "Creative Commons Zero 1.0 Universal",
    kind: "data",
    openData: true,
    openDocument: true,
    aliases: ["cc0", "cc zero", "public domain"],
  },
  {
    id: "CC-BY-4.0",
    name: "Creative Commons Attribution 4.0",
    kind: "document",
    openData: true,
    openDocument: true,
    aliases: ["cc by 4.0", "creative commons attribution 4.0 international"],
  },
  {
    id: "CC-BY-3.0",
    name: "Creative Commons Attribution 3.0",
    kind: "document",
    openData: true,
    openDocument: true,
  },
  {
    id: "CC-BY-SA-4.0",
    name: "Creative Commons Attribution Share Alike 4.0",
    kind: "document",
    openData: true,
    openDocument: true,
    aliases: ["creative commons attribution sharealike 4.0 international"],
  },
  {
    id: "CC-BY-SA-3.0",
    name: "Creative Commons Attribution Share Alike 3.0",
    kind: "document",
    openData: true,
    openDocument: true,
  },
  {
    id: "GFDL-1.3-only",
    name: "GNU Free Documentation License v1.3 only",
    kind: "document",
    openDocument: true,
    aliases: ["gfdl", "gfdl 1.3"],
  },
  // Creative Commons variants that are not open: no commercial use or no derivatives.
  {
    id: "CC-BY-NC-4.0",
    name: "Creative Commons Attribution Non Commercial 4.0",
    kind: "document",
    restrictions: "non-commercial use only",
  },
  {
    id: "CC-BY-NC-SA-4.0",
    name: "Creative Commons Attribution Non Commercial Share Alike 4.0",
    kind: "document",
    restrictions: "non-commercial use only",
  },
  {
    id: "CC-BY-NC-ND-4.0",
    name: "Creative Commons Attribution Non Commercial No Derivatives 4.0",
    kind: "document",
    restrictions: "non-commercial use only, no derivatives",
  },
  {
    id: "CC-BY-ND-4.0",
    name: "Creative Commons Attribution No Derivatives 4.0",
    kind: "document",
    restrictions: "no derivatives",
  },
  // Custom model licenses (SPDX does not list them).
  {
    id: "LicenseRef-Llama-2-Community",
    name: "Llama 2 Community License Agreement",
    kind: "weights-custom",
    url: "https://ai.meta.com/llama/license/",
    restrictions:
      "Acceptable Use Policy; a separate license is needed above 700 million monthly active users; its output may not improve other LLMs",
    aliases: ["llama2", "llama 2 community"],
  },
  {
    id: "LicenseRef-Llama-3-Community",
    name: "Meta Llama 3 Community License Agreement",
    kind: "weights-custom",
    url: "https://www.llama.com/llama3/license/",
    restrictions:
      "Acceptable Use Policy; a separate license is needed above 700 million monthly active users",
    aliases: ["llama3", "llama 3 community", "meta llama 3 community"],
  },
  {
    id: "LicenseRef-Llama-3.1-Community",
    name: "Llama 3.1 Community License Agreement",
    kind: "weights-custom",
    url: "https://www.llama.com/llama3_1/license/",
    restrictions:
      "Acceptable Use Policy; a separate license is needed above 700 million monthly active users",
    aliases: ["llama3.1", "llama 3.1 community"],
  },
  {
    id: "LicenseRef-Llama-3.2-Community",
    name: "Llama 3.2 Community License Agreement",
    kind: "weights-custom",
    url: "https://www.llama.com/llama3_2/license/",
    restrictions:
      "Acceptable Use Policy; a separate license is needed above 700 million monthly active users",
    aliases: ["llama3.2", "llama 3.2 community"],
  },
  {
    id: "LicenseRef-Llama-3.3-Community",
    name: "Llama 3.3 Community License Agreement",
    kind: "weights-custom",
    url: "https://www.llama.com/llama3_3/license/",
    restrictions:
      "Acceptable Use Policy; a separate license is needed above 700 million monthly active users",
    aliases: ["llama3.3", "llama 3.3 community"],
  },
  {
    id: "LicenseRef-Llama-4-Community",
    name: "Llama 4 Community License Agreement",
    kind: "weights-custom",
    url: "https://www.llama.com/llama4/license/",
    restrictions:
      "Acceptable Use Policy; a separate license is needed above 700 million monthly active users",
    aliases: ["llama4", "llama 4 community"],
  },
  {
    id: "LicenseRef-Gemma",
    name: "Gemma Terms of Use",
    kind: "weights-custom",
    url: "https://ai.google.dev/gemma/terms",
    restrictions: "Gemma Prohibited Use Policy, passed on to every derivative",
    aliases: ["gemma", "gemma terms of use", "gemma terms"],
  },
  {
    id: "LicenseRef-OpenRAIL",
    name: "Open RAIL license",
    kind: "weights-custom",
    url: "https://huggingface.co/blog/open_rail",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["openrail", "open rail"],
  },
  {
    id: "LicenseRef-OpenRAIL-M",
    name: "Open RAIL-M license",
    kind: "weights-custom",
    url: "https://www.licenses.ai/blog/2022/8/26/bigscience-open-rail-m-license",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["openrail m", "open rail m"],
  },
  {
    id: "LicenseRef-OpenRAIL++",
    name: "Open RAIL++-M license",
    kind: "weights-custom",
    url: "https://huggingface.co/stabilityai/stable-diffusion-xl-base-1.0/blob/main/LICENSE.md",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["openrail++"],
  },
  {
    id: "LicenseRef-BigScience-OpenRAIL-M",
    name: "BigScience Open RAIL-M License",
    kind: "weights-custom",
    url: "https://bigscience.huggingface.co/blog/bigscience-openrail-m",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["bigscience openrail m"],
  },
  {
    id: "LicenseRef-BigScience-BLOOM-RAIL-1.0",
    name: "BigScience BLOOM RAIL License v1.0",
    kind: "weights-custom",
    url: "https://huggingface.co/spaces/bigscience/license",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["bigscience bloom rail 1.0", "bloom rail"],
  },
  {
    id: "LicenseRef-BigCode-OpenRAIL-M",
    name: "BigCode Open RAIL-M License v1",
    kind: "weights-custom",
    url: "https://www.bigcode-project.org/docs/pages/bigcode-openrail/",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["bigcode openrail m", "bigcode openrail m v1"],
  },
  {
    id: "LicenseRef-CreativeML-OpenRAIL-M",
    name: "CreativeML Open RAIL-M",
    kind: "weights-custom",
    url: "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
    restrictions: "behavioural use restrictions (RAIL), passed on to every derivative",
    aliases: ["creativeml openrail m"],
  },
  {
    id: "LicenseRef-Qwen",
    name: "Qwen License Agreement (Tongyi Qianwen)",
    kind: "weights-custom",
    url: "https://huggingface.co/Qwen/Qwen2.5-72B-Instruct/blob/main/LICENSE",
    restrictions: "a separate license is needed above 100 million monthly active users",
    aliases: ["qwen", "tongyi qianwen", "qwen license"],
  },
  {
    id: "LicenseRef-Qwen-Research",
    name: "Qwen Research License Agreement",
    kind: "weights-custom",
    url: "https://huggingface.co/Qwen/Qwen2.5-3B-Instruct/blob/main/LICENSE",
    restrictions: "non-commercial (research) use only",
    aliases: ["qwen research", "qwen research license"],
  },
  {
    id: "LicenseRef-TII-Falcon-LLM-2.0",
    name: "TII Falcon-LLM License 2.0",
    kind: "weights-custom",
    url: "https://falconllm.tii.ae/falcon-terms-and-conditions.html",
    restrictions: "Acceptable Use Policy that TII may update",
    aliases: ["falcon llm", "falcon llm license", "tii falcon llm 2.0", "tii falcon 2.0"],
  },
  {
    id: "LicenseRef-DeepSeek",
    name: "DeepSeek License Agreement",
    kind: "weights-custom",
    url: "https://github.com/deepseek-ai/DeepSeek-LLM/blob/main/LICENSE-MODEL",
    restrictions: "use-based restrictions (Attachment A), passed on to every derivative",
    aliases: ["deepseek", "deepseek license"],
  },
  {
    id: "LicenseRef-FAIR-Noncommercial-Research",
    name: "FAIR Noncommercial Research License",
    kind: "weights-custom",
    url: "https://huggingface.co/facebook/chameleon-7b/blob/main/LICENSE",
    restrictions: "non-commercial research use only",
    aliases: ["fair noncommercial research"],
  },
];

const factsById = new Map<string, LicenseFacts>();
const idByLooseKey = new Map<string, string>();

for (const row of rows) {
  const facts: LicenseFacts = {
    id: row.id,
    name: row.name,
    osiApproved: row.osi ?? false,
    kind: row.kind,
    openData: row.openData ?? false,
    openDocument: row.openDocument ?? false,
    useRestrictions: row.restrictions ?? null,
    url: row.url ?? spdxUrl(row.id),
  };
  factsById.set(row.id.toLowerCase(), facts);
  const keys = [row.id, row.id.replace(/^LicenseRef-/, ""), row.name, ...(row.aliases ?? [])];
  for (const key of keys) {
    const loose = toLooseKey(key);
    if (!idByLooseKey.has(loose)) idByLooseKey.set(loose, row.id);
  }
}

/** Every license Ostrom knows facts about. */
export const knownLicenses: readonly LicenseFacts[] = [...factsById.values()];

/** Facts about an SPDX id or `LicenseRef-…` id (case-insensitive), if Ostrom knows the license. */
export function getLicenseFacts(id: string): LicenseFacts | undefined {
  return factsById.get(id.toLowerCase());
}

/**
 * - `known`: every license in the expression is one Ostrom knows (SPDX-listed or a known `LicenseRef-`).
 * - `custom`: an explicit `LicenseRef-…` id Ostrom has no facts about; kept as given.
 * - `unrecognized`: free text Ostrom could not match; kept as a `LicenseRef-` id, never counted open.
 * - `none`: explicitly no license ("", "unlicensed", "License not specified", "none").
 * - `unknown`: the source does not say which license ("other", "unknown", hub placeholder ids).
 */
export type LicenseStatus = "known" | "custom" | "unrecognized" | "none" | "unknown";

export interface NormalizedLicense {
  /** The SPDX expression, or null for `none`/`unknown`. */
  readonly expression: string | null;
  readonly status: LicenseStatus;
  /** The text as it was given. */
  readonly original: string;
}

const noLicenseTexts = new Set(["", "none", "unlicensed", "no", "notspecified", "noassertion"]);
const unknownLicenseTexts = new Set(["other", "unknown", "undisclosed"]);
const operatorPattern = /\s+(AND|OR|WITH)\s+|\(|\)/;

/**
 * Normalises a license as written anywhere (GGUF `general.license`, a hub id, an MOT YAML field, an
 * administrator) into an SPDX expression. Compound expressions (`MIT OR Apache-2.0`) keep their
 * structure with each license normalised; anything else is matched as one license name.
 */
export function normalizeLicense(text: string): NormalizedLicense {
  const original = text;
  const trimmed = text.trim();
  const loose = toLooseKey(trimmed);
  if (noLicenseTexts.has(trimmed.toLowerCase()) || noLicenseTexts.has(loose)) {
    return { expression: null, status: "none", original };
  }
  if (unknownLicenseTexts.has(loose)) return { expression: null, status: "unknown", original };

  if (operatorPattern.test(trimmed)) {
    const compound = normalizeCompound(trimmed);
    if (compound !== undefined) return { ...compound, original };
  }
  const single = resolveLicenseId(trimmed);
  return { ...single, original };
}

function normalizeCompound(text: string): Omit<NormalizedLicense, "original"> | undefined {
  const tokens = text
    .replace(/\(/g, " ( ")
    .replace(/\)/g, " ) ")
    .split(/\s+/)
    .filter((token) => token !== "");
  const out: string[] = [];
  let status: LicenseStatus = "known";
  let pending: string[] = [];
  let afterWith = false;
  const flush = (): boolean => {
    if (pending.length === 0) return true;
    const name = pending.join(" ");
    pending = [];
    if (afterWith) {
      out.push(name);
      afterWith = false;
      return true;
    }
    const resolved = resolveLicenseId(name);
    if (resolved.expression === null || resolved.status === "unrecognized") return false;
    if (resolved.status === "custom") status = "custom";
    out.push(resolved.expression);
    return true;
  };
  for (const token of tokens) {
    const upper = token.toUpperCase();
    if (token === "(" || token === ")" || upper === "AND" || upper === "OR" || upper === "WITH") {
      if (!flush()) return undefined;
      out.push(token === "(" || token === ")" ? token : upper);
      if (upper === "WITH") afterWith = true;
    } else {
      pending.push(token);
    }
  }
  if (!flush()) return undefined;
  const expression = out.join(" ").replace(/\( /g, "(").replace(/ \)/g, ")");
  return parseLicenseExpression(expression) === undefined ? undefined : { expression, status };
}

function resolveLicenseId(name: string): Omit<NormalizedLicense, "original"> {
  const exact = factsById.get(name.toLowerCase());
  if (exact !== undefined) return { expression: exact.id, status: "known" };
  const byAlias = idByLooseKey.get(toLooseKey(name));
  if (byAlias !== undefined) return { expression: byAlias, status: "known" };
  if (/^LicenseRef-[A-Za-z0-9.-]+$/.test(name)) return { expression: name, status: "custom" };
  return { expression: `LicenseRef-${toIdString(name)}`, status: "unrecognized" };
}

/**
 * A key that ignores case, punctuation and filler words, so "Apache License, Version 2.0",
 * "apache-2.0" and "Apache 2.0" meet. Trailing ".0" in versions is kept: "2" and "2.0" differ only
 * through explicit aliases.
 */
function toLooseKey(text: string): string {
  const filler = new Set([
    "the",
    "license",
    "licence",
    "licensed",
    "version",
    "agreement",
    "v",
    "clause",
    "under",
  ]);
  return text
    .toLowerCase()
    .replace(/\bv(?=\d)/g, "")
    .split(/[^a-z0-9.+]+/)
    .filter((word) => word !== "" && !filler.has(word))
    .join("");
}

function toIdString(text: string): string {
  const words = text.split(/[^A-Za-z0-9.]+/).filter((word) => word !== "");
  return words.length === 0 ? "Unnamed" : words.join("-").slice(0, 64);
}

/** A parsed SPDX expression. */
export type LicenseExpressionNode =
  | { readonly type: "license"; readonly id: string; readonly exception: string | undefined }
  | {
      readonly type: "and" | "or";
      readonly left: LicenseExpressionNode;
      readonly right: LicenseExpressionNode;
    };

/** Parses an SPDX expression (AND binds tighter than OR); undefined when it is malformed. */
export function parseLicenseExpression(expression: string): LicenseExpressionNode | undefined {
  const tokens = expression
    .replace(/\(/g, " ( ")
    .replace(/\)/g, " ) ")
    .split(/\s+/)
    .filter((token) => token !== "");
  let position = 0;
  const peek = () => tokens[position];
  const parseOr = (): LicenseExpressionNode | undefined => {
    let left = parseAnd();
    while (left !== undefined && peek() === "OR") {
      position++;
      const right = parseAnd();
      left = right === undefined ? undefined : { type: "or", left, right };
    }
    return left;
  };
  const parseAnd = (): LicenseExpressionNode | undefined => {
    let left = parseAtom();
    while (left !== undefined && peek() === "AND") {
      position++;
      const right = parseAtom();
      left = right === undefined ? undefined : { type: "and", left, right };
    }
    return left;
  };
  const parseAtom = (): LicenseExpressionNode | undefined => {
    const token = peek();
    if (token === undefined) return undefined;
    if (token === "(") {
      position++;
      const inner = parseOr();
      if (peek() !== ")") return undefined;
      position++;
      return inner;
    }
    if (token === ")" || token === "AND" || token === "OR" || token === "WITH") return undefined;
    if (!/^[A-Za-z0-9.+-]+$/.test(token)) return undefined;
    position++;
    let exception: string | undefined;
    if (peek() === "WITH") {
      position++;
      exception = peek();
      if (exception === undefined || !/^[A-Za-z0-9.+-]+$/.test(exception)) return undefined;
      position++;
    }
    return { type: "license", id: token, exception };
  };
  const tree = parseOr();
  return tree !== undefined && position === tokens.length ? tree : undefined;
}

/**
 * Whether the licensee can comply with `expression` using only licenses whose id `accept` takes: an OR
 * is satisfied when some branch is, an AND only when every part is. A malformed expression fails.
 */
export function canChooseLicenses(expression: string, accept: (id: string) => boolean): boolean {
  const tree = parseLicenseExpression(expression);
  if (tree === undefined) return false;
  const visit = (node: LicenseExpressionNode): boolean => {
    switch (node.type) {
      case "license":
        return accept(node.id);
      case "and":
        return visit(node.left) && visit(node.right);
      case "or":
        return visit(node.left) || visit(node.right);
      default:
        return node satisfies never;
    }
  };
  return visit(tree);
}

/** Whether an expression satisfies `test` on its licenses' facts (see `canChooseLicenses`); unknown ids fail. */
export function satisfiesLicenseExpression(
  expression: string,
  test: (facts: LicenseFacts) => boolean,
): boolean {
  return canChooseLicenses(expression, (id) => {
    const facts = getLicenseFacts(id);
    return facts !== undefined && test(facts);
  });
}

/** The ids an expression names, in order, without duplicates. */
export function listLicenseIds(expression: string): string[] {
  const tree = parseLicenseExpression(expression);
  if (tree === undefined) return [];
  const ids: string[] = [];
  const visit = (node: LicenseExpressionNode): void => {
    if (node.type === "license") {
      if (!ids.includes(node.id)) ids.push(node.id);
    } else {
      visit(node.left);
      visit(node.right);
    }
  };
  visit(tree);
  return ids;
}

/**
 * The use restrictions an expression imposes: those of every license the licensee cannot avoid
 * (all parts of an AND; an OR only restricts when every branch does, and then by its first branch).
 */
export function getUseRestrictions(expression: string): string[] {
  const tree = parseLicenseExpression(expression);
  if (tree === undefined) return [];
  const visit = (node: LicenseExpressionNode): string[] => {
    switch (node.type) {
      case "license": {
        const restriction = getLicenseFacts(node.id)?.useRestrictions;
        return restriction === null || restriction === undefined ? [] : [`${node.id}: ${restriction}`];
      }
      case "and":
        return [...visit(node.left), ...visit(node.right)];
      case "or": {
        const left = visit(node.left);
        const right = visit(node.right);
        return left.length === 0 || right.length === 0 ? [] : left;
      }
      default:
        return node satisfies never;
    }
  };
  return visit(tree);
}
