// The Models page: one card per model in the store (name, size, digest, license, MOF class, OSAID
// verdict), with details from `GET /v1/models/:id` and the openness card from
// `GET /v1/models/:id/provenance`, and the AI bill of materials to download. Models the serving
// policy refuses say so with every failed rule, and offer no chat. Fields the server adds later are
// shown generically. Knowledge-backed aliases (`kb:<name>`) are assistants, not stored models: the
// Chat page lists them, this page does not. Admins also pull models (with live progress), import a
// GGUF by upload (with upload progress) and remove models, after a confirmation.
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
 * @param {() => Promise<boolean>} [isAdmin] whether the caller may pull, import and remove models
 */
export function setUpModelsPage(api, initialModels, chatWith, isAdmin = async () => false) {
  const list = /** @type {HTMLUListElement} */ (document.getElementById("model-list"));
  const errorBox = /** @type {HTMLElement} */ (document.getElementById("models-error"));
  const reload = () => void show(api.listModels());
  setUpModelAdmin(api, reload);

  /** @param {Promise<ModelInfo[]>} models */
  async function show(models) {
    list.setAttribute("aria-busy", "true");
    errorBox.textContent = "";
    try {
      const [all, admin] = await Promise.all([models, isAdmin().catch(() => false)]);
      const entries = all.filter((model) => !isKnowledgeAlias(model));
      const onRemoved = admin ? reload : undefined;
      list.replaceChildren(...entries.map((model) => createModelCard(api, model, chatWith, onRemoved)));
      if (entries.length === 0) {
        const empty = document.createElement("li");
        empty.className = "hint";
        empty.textContent = admin
          ? "No models yet. Pull or import one above, or use `ostrom pull`."
          : "No models yet. Add one with `ostrom pull` or `ostrom import FILE`.";
        list.append(empty);
      }
    } catch (error) {
      errorBox.textContent = describeError(error);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  let shown = false;
  document.getElementById("models-refresh")?.addEventListener("click", reload);
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
 * @param {(() => void) | undefined} onRemoved given (for admins): the card offers Remove, then calls it
 */
function createModelCard(api, model, chatWith, onRemoved) {
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
  actions.append(bomButton);
  if (onRemoved) {
    const removeButton = createButton("Remove");
    removeButton.className = "danger";
    removeButton.setAttribute("aria-label", `Remove ${model.id}`);
    removeButton.addEventListener("click", async () => {
      if (!confirm(`Remove ${model.id} from the store? Its file is deleted unless another name uses it.`))
        return;
      removeButton.disabled = true;
      bomStatus.textContent = "Removing…";
      try {
        await api.deleteModel(model.id);
        onRemoved();
      } catch (error) {
        bomStatus.textContent = describeError(error);
        removeButton.disabled = false;
      }
    });
    actions.append(removeButton);
  }
  actions.append(bomStatus);
  card.append(heading, summary);
  if (!servable) card.append(createRefusal(model.provenance?.policy_failures ?? []));
  card.append(actions, details);
  item.append(card);
  return item;
}

/**
 * The admin forms: pull (progress from the server's NDJSON lines) and import (XHR upload progress).
 * Their container shows only to admins (`data-admin-only`, see sign-in.js).
 * @param {ApiClient} api
 * @param {() => void} reload
 */
function setUpModelAdmin(api, reload) {
  const pullForm = /** @type {HTMLFormElement | null} */ (document.getElementById("model-pull"));
  const importForm = /** @type {HTMLFormElement | null} */ (document.getElementById("model-import"));
  if (!pullForm || !importForm) return;
  const byId = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const pullRef = /** @type {HTMLInputElement} */ (byId("model-pull-ref"));
  const pullName = /** @type {HTMLInputElement} */ (byId("model-pull-name"));
  const pullButton = /** @type {HTMLButtonElement} */ (byId("model-pull-button"));
  const pullProgress = /** @type {HTMLProgressElement} */ (byId("model-pull-progress"));
  const pullStatus = byId("model-pull-status");
  const importFile = /** @type {HTMLInputElement} */ (byId("model-import-file"));
  const importName = /** @type {HTMLInputElement} */ (byId("model-import-name"));
  const importButton = /** @type {HTMLButtonElement} */ (byId("model-import-button"));
  const importProgress = /** @type {HTMLProgressElement} */ (byId("model-import-progress"));
  const importStatus = byId("model-import-status");

  pullForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const model = pullRef.value.trim();
    if (model === "") return;
    pullButton.disabled = true;
    pullProgress.hidden = false;
    pullProgress.removeAttribute("value");
    pullStatus.textContent = "Starting…";
    try {
      for await (const line of api.pullModel(model, pullName.value.trim() || undefined)) {
        if (line.status === "success") {
          pullProgress.value = 100;
          pullStatus.textContent = `Pulled ${line.id ?? model}.`;
        } else if (typeof line.completed === "number" && typeof line.total === "number" && line.total > 0) {
          pullProgress.value = Math.round((line.completed / line.total) * 100);
          pullStatus.textContent = `${line.status}: ${formatBytes(line.completed)} of ${formatBytes(line.total)}`;
        } else {
          pullStatus.textContent = line.status;
        }
      }
      pullForm.reset();
      reload();
    } catch (error) {
      pullStatus.textContent = describeError(error);
    } finally {
      pullButton.disabled = false;
      pullProgress.hidden = true;
    }
  });

  importFile.addEventListener("change", () => {
    const file = importFile.files?.[0];
    if (file && importName.value.trim() === "")
      importName.value = file.name.replace(/\.gguf$/i, "").toLowerCase();
  });
  importForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = importFile.files?.[0];
    const name = importName.value.trim();
    if (!file || name === "") return;
    importButton.disabled = true;
    importProgress.hidden = false;
    importProgress.value = 0;
    importStatus.textContent = "Uploading…";
    try {
      const imported = await api.importModel(file, name, ({ loaded, total }) => {
        importProgress.value = total > 0 ? Math.round((loaded / total) * 100) : 0;
        importStatus.textContent =
          loaded >= total ? "Verifying…" : `Uploading: ${formatBytes(loaded)} of ${formatBytes(total)}`;
      });
      importStatus.textContent = `Imported ${imported.id}.`;
      importForm.reset();
      reload();
    } catch (error) {
      importStatus.textContent = describeError(error);
    } finally {
      importButton.disabled = false;
      importProgress.hidden = true;
    }
  });
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
