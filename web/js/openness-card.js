// The openness card: a model's provenance and openness assessment (`GET /v1/models/{id}/provenance`)
// as a picture — the 17 Model Openness Framework components as a grid (open / restricted / missing,
// each with an icon and a word, never colour alone), the class reached with per-class progress, the
// OSI Open Source AI Definition verdict with its reasons, open-washing warnings, the serving policy's
// verdict, and where every fact came from. Reads the JSON tolerantly (camelCase or snake_case, absent
// parts skipped) so the card survives additions to the API. Depends only on dom.js and markdown.js's
// URL check; all text goes in as text.
import { createElement } from "./dom.js";
import { toSafeHref } from "./markdown.js";

/**
 * @typedef {Record<string, any>} Json
 * @typedef {"open" | "restricted" | "missing" | "unknown"} CellStatus
 */

/** How each status reads: the icon and the word carry the meaning; colour only repeats it. */
/** @type {Record<CellStatus, { icon: string, label: string }>} */
const statusViews = {
  open: { icon: "✓", label: "Open" },
  restricted: { icon: "◐", label: "Restricted" },
  missing: { icon: "✗", label: "Missing" },
  unknown: { icon: "?", label: "Not stated" },
};

const classNames = /** @type {Record<string, string>} */ ({ 1: "Class I", 2: "Class II", 3: "Class III" });

/**
 * @param {string} modelId
 * @param {Json} provenance the body of `GET /v1/models/{id}/provenance`
 * @returns {HTMLElement}
 */
export function createOpennessCard(modelId, provenance) {
  const assessment = /** @type {Json} */ (provenance.assessment ?? provenance);
  const record = /** @type {Json | undefined} */ (provenance.record);
  const components = asArray(assessment.components);
  const card = createElement("section", {
    className: "openness-card",
    "aria-label": `Openness of ${modelId}`,
  });

  const classLabel =
    text(pick(assessment, "mof_class_label", "mofClassLabel")) ??
    describeClass(pick(assessment, "mof_class", "mofClass"));
  const osaid = /** @type {Json | undefined} */ (assessment.osaid);
  const passes =
    typeof osaid === "object" && osaid !== null ? Boolean(osaid.passes ?? osaid.pass) : osaid === "pass";
  card.append(
    createElement(
      "div",
      { className: "openness-summary" },
      createElement(
        "p",
        { className: "openness-badge", "data-kind": "mof" },
        createElement("span", { className: "badge-label" }, "MOF class"),
        createElement("strong", {}, classLabel ?? "unclassified"),
      ),
      createElement(
        "p",
        { className: "openness-badge", "data-kind": "osaid", "data-passes": String(passes) },
        createElement("span", { className: "badge-label" }, "OSI Open Source AI Definition"),
        createElement("strong", {}, passes ? "✓ Passes" : "✗ Does not pass"),
      ),
    ),
  );

  const policy = createPolicyVerdict(provenance.policy);
  if (policy) card.append(policy);
  const flags = createFlags(asArray(assessment.flags), asArray(assessment.warnings));
  if (flags) card.append(flags);
  const progress = createClassProgress(asArray(assessment.classes));
  if (progress) card.append(progress);
  if (components.length > 0) card.append(createComponentGrid(components, record));
  const criteria = asArray(osaid?.criteria);
  if (criteria.length > 0) {
    card.append(
      createElement("h3", {}, "Open Source AI Definition"),
      createElement(
        "ul",
        { className: "osaid-criteria" },
        criteria.map((criterion) =>
          createElement(
            "li",
            { "data-passed": String(Boolean(criterion.passed)) },
            createElement("span", { "aria-hidden": "true" }, criterion.passed ? "✓ " : "✗ "),
            createElement("strong", {}, `${humanize(text(criterion.name) ?? "criterion")}: `),
            createElement(
              "span",
              { className: "visually-hidden" },
              criterion.passed ? "passed. " : "failed. ",
            ),
            stripName(text(criterion.reason) ?? "", humanize(text(criterion.name) ?? "")),
          ),
        ),
      ),
    );
  }
  const sources = createFactSources(record);
  if (sources) card.append(sources);
  return card;
}

/**
 * The policy verdict, when the server has a serving policy and says so.
 * @param {unknown} policy
 */
function createPolicyVerdict(policy) {
  if (typeof policy !== "object" || policy === null) return null;
  const json = /** @type {Json} */ (policy);
  const failures = asArray(json.failures ?? json.policy_failures);
  const servable = json.servable ?? failures.length === 0;
  if (servable)
    return createElement("p", { className: "policy-ok" }, "✓ Allowed by this server's serving policy.");
  return createRefusal(failures);
}

/**
 * The box that says a model is refused by policy, naming every failed rule.
 * @param {Json[]} failures
 */
export function createRefusal(failures) {
  return createElement(
    "div",
    { className: "refusal", role: "note" },
    createElement(
      "p",
      {},
      createElement("strong", {}, "⊘ Refused by this server's policy"),
      " — it cannot be used for chat.",
    ),
    failures.length > 0 &&
      createElement(
        "ul",
        {},
        failures.map((failure) =>
          createElement(
            "li",
            {},
            createElement("code", {}, text(failure.rule) ?? "rule"),
            " ",
            text(failure.message) ?? "",
          ),
        ),
      ),
  );
}

/**
 * @param {Json[]} flags
 * @param {unknown[]} warnings
 */
function createFlags(flags, warnings) {
  if (flags.length === 0 && warnings.length === 0) return null;
  return createElement(
    "div",
    { className: "openness-flags", role: "note", "aria-label": "Open-washing warnings" },
    flags.length > 0 && createElement("h3", {}, "⚠ Open-washing warnings"),
    flags.length > 0 &&
      createElement(
        "ul",
        {},
        flags.map((flag) =>
          createElement(
            "li",
            {},
            typeof flag === "string" ? flag : (text(flag.message) ?? text(flag.code) ?? ""),
            typeof flag === "object" && flag.code
              ? createElement("code", { className: "flag-code" }, flag.code)
              : null,
          ),
        ),
      ),
    warnings.length > 0 && createElement("h3", {}, "Worth a look"),
    warnings.length > 0 &&
      createElement(
        "ul",
        {},
        warnings.map((warning) => createElement("li", {}, String(warning))),
      ),
  );
}

/** @param {Json[]} classes */
function createClassProgress(classes) {
  if (classes.length === 0) return null;
  return createElement(
    "div",
    { className: "class-progress" },
    createElement("h3", {}, "Progress towards each class"),
    createElement(
      "ul",
      {},
      classes.map((progress) => {
        const percent = clampPercent(progress.percent);
        const label =
          text(progress.label) ?? describeClass(pick(progress, "mof_class", "mofClass")) ?? "Class";
        const bar = createElement("span", { className: "bar-fill" });
        bar.style.width = `${percent}%`;
        const unmet = asArray(progress.unmet).map(String);
        return createElement(
          "li",
          {},
          createElement("span", { className: "class-name" }, label),
          createElement(
            "span",
            { className: "bar", role: "img", "aria-label": `${label}: ${percent} percent of its components` },
            bar,
          ),
          createElement(
            "span",
            { className: "class-count" },
            typeof progress.met === "number" && typeof progress.required === "number"
              ? `${progress.met} of ${progress.required} (${percent} %)`
              : `${percent} %`,
          ),
          unmet.length > 0 &&
            createElement("span", { className: "hint class-unmet" }, `Missing: ${unmet.join(", ")}`),
        );
      }),
    ),
  );
}

/**
 * The 17 components as a grid of disclosure cells: the icon, name and status at a glance; the license,
 * the class that needs it, why, and its source when opened.
 * @param {Json[]} components
 * @param {Json | undefined} record
 */
function createComponentGrid(components, record) {
  const facts = indexComponentFacts(record?.components);
  const counts = { open: 0, restricted: 0, missing: 0, unknown: 0 };
  const cells = components.map((component) => {
    const status = toCellStatus(component);
    counts[status]++;
    const view = statusViews[status];
    const fact = /** @type {Json | undefined} */ (facts[component.id]);
    const source = text(component.source?.source ?? component.source) ?? text(fact?.source);
    const date = text(component.source?.date ?? component.date) ?? text(fact?.date);
    const url = toSafeHref(text(component.url) ?? text(fact?.url) ?? text(fact?.value?.url) ?? "");
    const requiredFrom = pick(component, "required_from", "requiredFrom");
    const name = text(component.name) ?? humanize(text(component.id) ?? "component");
    return createElement(
      "li",
      { className: "mof-cell", "data-status": status, "data-component": text(component.id) },
      createElement(
        "details",
        {},
        createElement(
          "summary",
          {},
          createElement("span", { className: "mof-icon", "aria-hidden": "true" }, view.icon),
          createElement("span", { className: "mof-name" }, name),
          createElement("span", { className: "mof-status" }, view.label),
        ),
        createElement(
          "dl",
          {},
          createElement("dt", {}, "License"),
          createElement("dd", {}, text(component.license?.expression ?? component.license) ?? "none"),
          createElement("dt", {}, "Needed for"),
          createElement(
            "dd",
            {},
            typeof requiredFrom === "number"
              ? `${classNames[requiredFrom] ?? requiredFrom} and above`
              : "no class (shown for completeness)",
          ),
          createElement("dt", {}, "Counts"),
          createElement("dd", {}, component.counts ? "yes" : "no"),
          (text(component.explanation) ?? text(component.why)) && createElement("dt", {}, "Why"),
          (text(component.explanation) ?? text(component.why)) &&
            createElement("dd", {}, text(component.explanation) ?? text(component.why) ?? ""),
          source && createElement("dt", {}, "Source"),
          source && createElement("dd", {}, date ? `${source}, ${date}` : source),
          url && createElement("dt", {}, "Published at"),
          url &&
            createElement(
              "dd",
              {},
              createElement("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, url),
            ),
        ),
      ),
    );
  });
  return createElement(
    "div",
    { className: "mof-components" },
    createElement("h3", {}, "Model Openness Framework components"),
    createElement(
      "p",
      { className: "hint mof-legend" },
      `${counts.open} open · ${counts.restricted} restricted · ${counts.missing} missing · ${counts.unknown} not stated`,
    ),
    createElement("ul", { className: "mof-grid" }, cells),
  );
}

/**
 * Open (also open under a license of another kind), restricted (released, but the license does not
 * count), missing (not released), or unknown (no source says).
 * @param {Json} component
 * @returns {CellStatus}
 */
function toCellStatus(component) {
  const verdict = text(component.verdict) ?? text(component.status);
  switch (verdict) {
    case "open":
    case "open-wrong-kind":
      return "open";
    case "restricted":
    case "unlicensed":
      return "restricted";
    case "missing":
    case "not-available":
      return "missing";
    case "unknown":
      return "unknown";
  }
  const availability = text(component.availability);
  if (availability === "available") return component.counts ? "open" : "restricted";
  if (availability === "not-available") return "missing";
  return "unknown";
}

/**
 * Where each fact came from: a table of every sourced fact in the record (value, source, date, link).
 * A fact is any object with `value` and `source`; nested groups (components) are walked one level.
 * @param {Json | undefined} record
 */
function createFactSources(record) {
  if (typeof record !== "object" || record === null) return null;
  /** @type {HTMLTableRowElement[]} */
  const rows = [];
  /**
   * @param {string} name
   * @param {Json} fact
   */
  const addRow = (name, fact) => {
    const url = toSafeHref(text(fact.url) ?? "");
    rows.push(
      createElement(
        "tr",
        {},
        createElement("th", { scope: "row" }, humanize(name)),
        createElement("td", {}, summarizeValue(fact.value)),
        createElement("td", {}, text(fact.source) ?? ""),
        createElement("td", {}, text(fact.date) ?? ""),
        createElement(
          "td",
          {},
          url
            ? createElement("a", { href: url, rel: "noopener noreferrer nofollow", target: "_blank" }, "link")
            : "",
        ),
      ),
    );
  };
  for (const [name, value] of Object.entries(record)) {
    if (isFact(value)) addRow(name, value);
    else if (Array.isArray(value)) {
      for (const item of value)
        if (isFact(item?.fact)) addRow(`${name}: ${text(item.name) ?? text(item.id)}`, item.fact);
    } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      for (const [inner, fact] of Object.entries(value)) if (isFact(fact)) addRow(`${name}: ${inner}`, fact);
    }
  }
  if (rows.length === 0) return null;
  return createElement(
    "details",
    { className: "fact-sources" },
    createElement("summary", {}, `Sources of each fact (${rows.length})`),
    createElement(
      "div",
      { className: "table-scroll", tabindex: "0", role: "region", "aria-label": "Sources of each fact" },
      createElement(
        "table",
        {},
        createElement(
          "thead",
          {},
          createElement(
            "tr",
            {},
            ["Fact", "Value", "Source", "Date", "Where"].map((label) =>
              createElement("th", { scope: "col" }, label),
            ),
          ),
        ),
        createElement("tbody", {}, rows),
      ),
    ),
  );
}

/**
 * The record's component facts by component id, from a list (`[{id, name, fact}]`) or a map.
 * @param {unknown} components
 * @returns {Json}
 */
function indexComponentFacts(components) {
  if (!Array.isArray(components))
    return typeof components === "object" && components !== null ? components : {};
  return Object.fromEntries(
    components.filter((item) => item?.id).map((item) => [item.id, item.fact ?? item]),
  );
}

/** @param {unknown} value @returns {value is Json} */
function isFact(value) {
  return typeof value === "object" && value !== null && "value" in value && "source" in value;
}

/**
 * A short text for a fact's value: strings and numbers as they are, a license by its expression, a
 * component by its availability, lists by their names.
 * @param {unknown} value
 * @returns {string}
 */
function summarizeValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return value.map(summarizeValue).join(", ");
  const json = /** @type {Json} */ (value);
  const named = text(json.expression) ?? text(json.original) ?? text(json.name) ?? text(json.availability);
  if (named) return json.license ? `${named} (${summarizeValue(json.license)})` : named;
  const serialized = JSON.stringify(value);
  return serialized.length > 120 ? `${serialized.slice(0, 119)}…` : serialized;
}

/**
 * The reason without a leading "Name:" when it repeats the criterion's name shown before it.
 * @param {string} reason
 * @param {string} name
 */
function stripName(reason, name) {
  const prefix = `${name.toLowerCase()}:`;
  return name && reason.toLowerCase().startsWith(prefix) ? reason.slice(prefix.length).trim() : reason;
}

/** @param {unknown} value @returns {Json[]} */
function asArray(value) {
  return Array.isArray(value) ? value : [];
}

/** @param {unknown} value @returns {string | undefined} */
function text(value) {
  return typeof value === "string" && value !== ""
    ? value
    : typeof value === "number"
      ? String(value)
      : undefined;
}

/**
 * @param {Json} object
 * @param {string[]} names
 */
function pick(object, ...names) {
  for (const name of names) if (object?.[name] !== undefined) return object[name];
  return undefined;
}

/** @param {unknown} mofClass */
function describeClass(mofClass) {
  if (typeof mofClass === "number") return classNames[mofClass];
  return text(mofClass);
}

/** @param {unknown} value */
function clampPercent(value) {
  const number = typeof value === "number" && Number.isFinite(value) ? value : 0;
  return Math.max(0, Math.min(100, Math.round(number)));
}

/** "model-parameters-final" / "data_information" → "Model parameters final" */
/** @param {string} name */
function humanize(name) {
  const spaced = name
    .replace(/[-_]+/g, " ")
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
