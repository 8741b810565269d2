// The Knowledge page: knowledge bases (list, create, delete), the documents of the chosen one (list,
// delete), uploads by drag and drop or a file picker with license and attribution, upload progress
// and each file's outcome (added, unchanged, replaced, failed with its error), and a search box that
// shows the ranked chunks. Calls only the public `/v1/knowledge-bases` API. Document text and titles
// go in as text, never as HTML.
import { describeError } from "./api.js";
import { byId, createElement } from "./dom.js";
import { formatBytes, formatScore } from "./format.js";

/** @typedef {ReturnType<typeof import("./api.js").createApiClient>} ApiClient */

/** @param {ApiClient} api */
export function setUpKnowledgePage(api) {
  const list = byId("kb-list");
  const errorBox = byId("knowledge-error");
  const createForm = /** @type {HTMLFormElement} */ (byId("kb-create"));
  const detail = byId("kb-detail");
  const title = byId("kb-title");
  const uploadForm = /** @type {HTMLFormElement} */ (byId("kb-upload"));
  const dropZone = byId("drop-zone");
  const fileInput = /** @type {HTMLInputElement} */ (byId("kb-files"));
  const fileSummary = byId("kb-file-summary");
  const uploadButton = /** @type {HTMLButtonElement} */ (byId("kb-upload-button"));
  const progress = /** @type {HTMLProgressElement} */ (byId("kb-progress"));
  const progressText = byId("kb-progress-text");
  const uploadResults = byId("kb-upload-results");
  const documents = /** @type {HTMLElement} */ (byId("kb-documents").querySelector("tbody"));
  const searchForm = /** @type {HTMLFormElement} */ (byId("kb-search"));
  const searchResults = byId("kb-results");

  /** @type {string | null} */
  let selected = null;
  /** Files chosen by the picker or dropped, waiting for Upload. */
  /** @type {File[]} */
  let pending = [];
  let uploading = false;

  /** @param {unknown} error */
  const showError = (error) => {
    errorBox.textContent = describeError(error);
  };

  async function refresh() {
    list.setAttribute("aria-busy", "true");
    errorBox.textContent = "";
    try {
      const bases = await api.listKnowledgeBases();
      list.replaceChildren(
        ...bases.map((base) =>
          createElement(
            "li",
            {},
            createElement(
              "button",
              {
                type: "button",
                className: "kb-open",
                "aria-current": base.name === selected ? "true" : null,
                onclick: () => void select(base.name),
              },
              createElement("strong", {}, base.name),
              base.description
                ? createElement("span", { className: "hint" }, String(base.description))
                : null,
            ),
          ),
        ),
      );
      if (bases.length === 0)
        list.append(createElement("li", { className: "hint" }, "No knowledge bases yet."));
      if (selected && !bases.some((base) => base.name === selected)) {
        selected = null;
        detail.hidden = true;
      }
    } catch (error) {
      showError(error);
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  /** @param {string} name */
  async function select(name) {
    selected = name;
    title.textContent = name;
    detail.hidden = false;
    uploadResults.replaceChildren();
    searchResults.replaceChildren();
    for (const button of list.querySelectorAll(".kb-open")) {
      const current = button.querySelector("strong")?.textContent === name;
      if (current) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
    await loadDocuments();
  }

  async function loadDocuments() {
    if (!selected) return;
    const name = selected;
    try {
      const docs = await api.listDocuments(name);
      if (name !== selected) return;
      documents.replaceChildren(
        ...docs.map((doc) =>
          createElement(
            "tr",
            {},
            createElement(
              "th",
              { scope: "row" },
              String(doc.title ?? doc.source ?? doc.id),
              doc.source && doc.source !== doc.title
                ? createElement("span", { className: "hint doc-source" }, String(doc.source))
                : null,
            ),
            createElement("td", {}, String(doc.format ?? "")),
            createElement("td", {}, String(doc.license ?? "unspecified")),
            createElement("td", {}, String(doc.attribution ?? "")),
            createElement("td", { className: "number" }, String(doc.chunks ?? "")),
            createElement(
              "td",
              { className: "number" },
              typeof doc.bytes === "number" ? formatBytes(doc.bytes) : "",
            ),
            createElement("td", {}, formatWhen(doc.ingested_at)),
            createElement(
              "td",
              {},
              createElement(
                "button",
                {
                  type: "button",
                  className: "quiet",
                  "aria-label": `Delete document ${String(doc.title ?? doc.id)}`,
                  onclick: async () => {
                    if (!confirm(`Delete “${String(doc.title ?? doc.id)}” from ${name}?`)) return;
                    try {
                      await api.deleteDocument(name, String(doc.id));
                      await loadDocuments();
                    } catch (error) {
                      showError(error);
                    }
                  },
                },
                "Delete",
              ),
            ),
          ),
        ),
      );
      if (docs.length === 0) {
        documents.append(
          createElement(
            "tr",
            {},
            createElement("td", { colspan: "8", className: "hint" }, "No documents yet."),
          ),
        );
      }
    } catch (error) {
      showError(error);
    }
  }

  /** @param {File[]} files */
  function choose(files) {
    pending = files;
    uploadButton.disabled = files.length === 0 || uploading;
    const total = files.reduce((sum, file) => sum + file.size, 0);
    fileSummary.textContent =
      files.length === 0
        ? "Text, Markdown, HTML, PDF or DOCX."
        : `${files.length} file${files.length === 1 ? "" : "s"} chosen (${formatBytes(total)}): ${files.map((file) => file.name).join(", ")}`;
  }

  createForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(createForm);
    const name = String(data.get("name") ?? "").trim();
    const description = String(data.get("description") ?? "").trim();
    try {
      await api.createKnowledgeBase(description ? { name, description } : { name });
      createForm.reset();
      await refresh();
      await select(name);
    } catch (error) {
      showError(error);
    }
  });

  byId("kb-delete").addEventListener("click", async () => {
    if (!selected || !confirm(`Delete the knowledge base “${selected}” and all its documents?`)) return;
    try {
      await api.deleteKnowledgeBase(selected);
      selected = null;
      detail.hidden = true;
      await refresh();
    } catch (error) {
      showError(error);
    }
  });

  fileInput.addEventListener("change", () => choose([...(fileInput.files ?? [])]));
  for (const type of ["dragenter", "dragover"]) {
    dropZone.addEventListener(type, (event) => {
      event.preventDefault();
      dropZone.classList.add("dragging");
    });
  }
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("dragging");
    const files = /** @type {DragEvent} */ (event).dataTransfer?.files;
    choose(files ? [...files] : []);
  });

  uploadForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!selected || pending.length === 0 || uploading) return;
    const name = selected;
    const files = pending;
    const data = new FormData(uploadForm);
    uploading = true;
    uploadButton.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    progressText.textContent = "Uploading…";
    uploadResults.replaceChildren();
    try {
      const results = await api.uploadDocuments(
        name,
        files,
        {
          license: String(data.get("license") ?? "").trim(),
          attribution: String(data.get("attribution") ?? "").trim(),
        },
        ({ loaded, total }) => {
          progress.value = total > 0 ? Math.round((loaded / total) * 100) : 0;
          progressText.textContent =
            loaded < total ? `Uploading… ${formatBytes(loaded)} of ${formatBytes(total)}` : "Processing…";
        },
      );
      progress.value = 100;
      const failed = results.filter((result) => result.status === "failed").length;
      progressText.textContent = `Done: ${results.length - failed} of ${results.length} file${results.length === 1 ? "" : "s"} ingested.`;
      uploadResults.replaceChildren(
        ...results.map((result) =>
          createElement(
            "li",
            { "data-status": result.status ?? "unknown" },
            createElement(
              "span",
              { className: "status-word" },
              `${statusIcon(result.status)} ${result.status ?? "unknown"}`,
            ),
            " ",
            createElement("strong", {}, result.file ?? result.title ?? "file"),
            result.title && result.title !== result.file ? ` — ${result.title}` : "",
            result.error
              ? createElement("span", { className: "upload-error" }, `: ${describeUploadError(result.error)}`)
              : null,
          ),
        ),
      );
      fileInput.value = "";
      choose([]);
      await loadDocuments();
    } catch (error) {
      progressText.textContent = "Upload failed.";
      showError(error);
    } finally {
      uploading = false;
      uploadButton.disabled = pending.length === 0;
    }
  });

  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!selected) return;
    const query = String(new FormData(searchForm).get("query") ?? "").trim();
    if (!query) return;
    searchResults.setAttribute("aria-busy", "true");
    try {
      const hits = await api.searchKnowledgeBase(selected, query, 10);
      searchResults.replaceChildren(
        ...hits.map((hit) =>
          createElement(
            "li",
            { className: "search-hit" },
            createElement(
              "p",
              { className: "hit-head" },
              createElement("span", { className: "hit-rank" }, `#${String(hit.rank ?? "")}`),
              " ",
              createElement("strong", {}, String(hit.title ?? "Untitled")),
              hit.location
                ? createElement("span", { className: "hint" }, ` — ${String(hit.location)}`)
                : null,
              createElement(
                "span",
                { className: "hit-score" },
                typeof hit.score === "number" ? `score ${formatScore(hit.score)}` : "",
              ),
            ),
            createElement("p", { className: "hit-text" }, String(hit.text ?? "")),
            createElement(
              "p",
              { className: "hint" },
              `License: ${String(hit.license ?? "unspecified")}`,
              hit.attribution ? ` · ${String(hit.attribution)}` : "",
            ),
          ),
        ),
      );
      if (hits.length === 0) searchResults.append(createElement("li", { className: "hint" }, "No matches."));
    } catch (error) {
      showError(error);
    } finally {
      searchResults.setAttribute("aria-busy", "false");
    }
  });

  byId("knowledge-refresh").addEventListener("click", () => {
    void refresh();
    void loadDocuments();
  });

  return { refresh };
}

/**
 * A file's error as the server gives it: a message, or `{code, message}`.
 * @param {unknown} error
 */
function describeUploadError(error) {
  if (typeof error === "string") return error;
  const { message, code } = /** @type {{ message?: unknown, code?: unknown }} */ (error);
  return `${typeof message === "string" ? message : "failed"}${typeof code === "string" ? ` (${code})` : ""}`;
}

/** @param {string | undefined} status */
function statusIcon(status) {
  switch (status) {
    case "added":
      return "✓";
    case "replaced":
      return "↻";
    case "unchanged":
      return "=";
    case "failed":
      return "✗";
    default:
      return "•";
  }
}

/** @param {unknown} value an ISO date or unix seconds */
function formatWhen(value) {
  const date =
    typeof value === "number" ? new Date(value * 1000) : typeof value === "string" ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date.toLocaleString() : "";
}
