// The Models page: one card per model in the store (name, size, digest, license, MOF class, OSAID
// verdict), with details from `GET /v1/models/:id` and the openness card from
// `GET /v1/models/:id/provenance`, and the AI bill of materials to download. Models the serving
// policy refuses say so with every failed rule, and offer no chat. Fields the server adds later are
// shown generically. Knowledge-backed aliases (`kb:<name>`) are assistants, not stored models: the
// Chat page lists them, this page does not.
import { describeError } from "./api.js";
import { createElement } from "./dom.js";
import { formatBytes, formatDate, formatShortDigest } from "./format.js";
import { createOpennessCard, createRefusal } from "./openness-card.js";

/**
 * @typedef {ReturnType<typeof import("./api.js").createApiClient>} ApiClient
 * @typedef {import("./api.js").ModelInfo} ModelInfo
 * @typedef {{ label: string, format?: (value: unknown) => Node | string }} FieldView
 */

/** How known fields are labelled and shown; any other field is shown with its own name. */
/** @type {Record<string, FieldView>} */
const fieldViews = {
  size: {
    label: "Size",
    format: (value) => (typeof value === "number" ? formatBytes(value) : String(value)),
  },
  digest: { label: "Digest", format: (value) => createCode(String(value)) },
  created: {
    label: "Added",
    format: (value) => (typeof value === "number" ? formatDate(value) : String(value)),
  },
  owned_by: { label: "Owner" },
};
/** Fields already shown elsewhere on the card. */
const hiddenFields = new Set(["id", "object", "provenance"]);

/**
 * @param {ModelInfo} model
 * @returns {boolean} false when the serving policy refuses the model
 */
export function isServable(model) {
  return model.provenance?.servable !== false;
}

/** @param {ModelInfo} model */
export function isKnowledgeAlias(model) {
  return model.id.startsWith("kb:");
}

/**
 * @param {ApiClient} api
 * @param {Promise<ModelInfo[]>} initialModels
 * @param {(id: string) => void} chatWith opens the Chat page with this model selected
 */
export function setUpModelsPage(api, initialModels, chatWith) {
  const list = /** @type {HTMLUListElement} */ (document.getElementById("model-list"));
  const errorBox = /** @type {HTMLElement} */ (document.getElementById("models-error"));

  /** @param {Promise<ModelInfo[]>} models */
  async function show(models) {
    list.setAttribute("aria-busy", "true");
    errorBox.textContent = "";
    try {
      const entries = (await models).filter((model) => !isKnowledgeAlias(model));
      list.replaceChildren(...entries.map((model) => createModelCard(api, model, chatWith)));
      if (entries.length === 0) {
        const empty = document.createElement("li");
        empty.className = "hint";
        empty.textContent = "No models yet. Add one with `ostrom pull` or `ostrom import FILE`.";
        list.append(empty);
      }
    } catch (error) {
      errorBox.textContent = describeError(error);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  let shown = false;
  document.getElementById("models-refresh")?.addEventListener("click", () => void show(api.listModels()));
  return {
    /** Called each time the page is shown: the first time from the shared list, then fresh. */
    refresh() {
      void show(shown ? api.listModels() : initialModels);
      shown = true;
    },
  };
}

/**
 * @param {ApiClient} api
 * @param {ModelInfo} model
 * @param {(id: string) => void} chatWith
 */
function createModelCard(api, model, chatWith) {
  const item = document.createElement("li");
  const card = document.createElement("article");
  card.className = "model-card";
  const headingId = `model-${cssSafeId(model.id)}`;
  card.setAttribute("aria-labelledby", headingId);

  const heading = document.createElement("h2");
  heading.id = headingId;
  heading.textContent = model.id;

  const summary = createFieldList(model, ["size", "digest"]);
  const provenance = model.provenance;
  if (provenance) {
    const pairs = /** @type {Array<[string, string | undefined]>} */ ([
      ["License", provenance.license],
      ["MOF class", provenance.mof_class],
      [
        "OSAID",
        provenance.osaid === "pass"
          ? "✓ passes"
          : provenance.osaid === "fail"
            ? "✗ does not pass"
            : provenance.osaid,
      ],
    ]);
    for (const [label, value] of pairs) {
      if (value) summary.append(createElement("dt", {}, label), createElement("dd", {}, value));
    }
    if (provenance.flags && provenance.flags.length > 0) {
      summary.append(
        createElement("dt", {}, "Warnings"),
        createElement(
          "dd",
          { className: "flag-count" },
          `⚠ ${provenance.flags.length} open-washing flag${provenance.flags.length === 1 ? "" : "s"}`,
        ),
      );
    }
  }
  const servable = isServable(model);
  if (!servable) card.dataset.refused = "true";
  const digest = summary.querySelector("code");
  if (digest && typeof model.digest === "string") {
    digest.textContent = formatShortDigest(model.digest);
    digest.title = model.digest;
  }

  const details = document.createElement("div");
  details.className = "model-details";
  details.id = `${headingId}-details`;
  details.hidden = true;

  const detailsButton = createButton("Details");
  detailsButton.setAttribute("aria-expanded", "false");
  detailsButton.setAttribute("aria-controls", details.id);
  let loaded = false;
  detailsButton.addEventListener("click", async () => {
    const expand = details.hidden;
    details.hidden = !expand;
    detailsButton.setAttribute("aria-expanded", String(expand));
    if (!expand || loaded) return;
    details.setAttribute("aria-busy", "true");
    details.textContent = "Loading…";
    try {
      const [full, openness] = await Promise.all([
        api.getModel(model.id),
        api.getProvenance(model.id).then(
          (provenance) => createOpennessCard(model.id, provenance),
          (/** @type {unknown} */ error) =>
            createElement("p", { className: "error" }, `Openness card unavailable: ${describeError(error)}`),
        ),
      ]);
      // Everything the server says about the model, the size aside (on the card already); the digest
      // again, in full.
      const fields = Object.keys(full).filter((field) => field !== "size");
      details.replaceChildren(createFieldList(full, fields), openness);
      loaded = true;
    } catch (error) {
      details.textContent = describeError(error);
    } finally {
      details.setAttribute("aria-busy", "false");
    }
  });

  const bomButton = createButton("Download BOM");
  bomButton.setAttribute("aria-label", `Download the AI bill of materials of ${model.id}`);
  const bomStatus = createElement("span", { className: "hint", role: "status" });
  bomButton.addEventListener("click", async () => {
    bomStatus.textContent = "Preparing…";
    try {
      saveBlob(await api.getBom(model.id), `${model.id.replace(/[^\w.-]+/g, "_")}.cdx.json`);
      bomStatus.textContent = "";
    } catch (error) {
      bomStatus.textContent = describeError(error);
    }
  });

  const actions = document.createElement("div");
  actions.className = "card-actions";
  actions.append(detailsButton);
  if (servable) {
    const chatButton = createButton("Chat with it");
    chatButton.setAttribute("aria-label", `Chat with ${model.id}`);
    chatButton.addEventListener("click", () => chatWith(model.id));
    actions.append(chatButton);
  }
  actions.append(bomButton, bomStatus);
  card.append(heading, summary);
  if (!servable) card.append(createRefusal(model.provenance?.policy_failures ?? []));
  card.append(actions, details);
  item.append(card);
  return item;
}

/**
 * A definition list of the given fields of a model, in order, skipping absent and hidden ones.
 * @param {ModelInfo} model
 * @param {string[]} fields
 */
function createFieldList(model, fields) {
  const list = document.createElement("dl");
  for (const field of fields) {
    const value = model[field];
    if (value === undefined || value === null || hiddenFields.has(field)) continue;
    const view = fieldViews[field];
    const term = document.createElement("dt");
    term.textContent = view?.label ?? field.replaceAll("_", " ");
    const description = document.createElement("dd");
    if (view?.format) description.append(view.format(value));
    else if (typeof value === "object") description.append(createCode(JSON.stringify(value, null, 2), true));
    else description.textContent = String(value);
    list.append(term, description);
  }
  return list;
}

/**
 * @param {string} text
 * @param {boolean} [block]
 */
function createCode(text, block = false) {
  const code = document.createElement("code");
  code.textContent = text;
  if (!block) return code;
  const pre = document.createElement("pre");
  pre.tabIndex = 0;
  pre.append(code);
  return pre;
}

/** @param {string} label */
function createButton(label) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  return button;
}

/**
 * Saves a blob as a file through a temporary object URL (a plain link could not send the API key).
 * @param {Blob} blob
 * @param {string} name
 */
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = createElement("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** @param {string} id */
function cssSafeId(id) {
  return id.replace(/[^\w-]/g, "_");
}
