// The console's entry point: fetches the model list once, sets up each page and shows the one named
// in the URL's hash (#/chat, #/models). Hash routing keeps every page at `/`, so the server needs no
// knowledge of the console's pages.
import { createApiClient } from "./api.js";
import { getApiKey, setUpApiKeyDialog } from "./api-key.js";
import { setUpChatPage } from "./chat-page.js";
import { setUpModelsPage } from "./models-page.js";

const api = createApiClient(getApiKey);
const models = api.listModels();
// The pages report a failed list themselves; this keeps the shared promise from being "unhandled".
models.catch(() => {});

const chat = setUpChatPage(api, models);
const modelsPage = setUpModelsPage(api, models, (id) => {
  chat.chatWith(id);
  location.hash = "#/chat";
});
setUpApiKeyDialog(
  /** @type {HTMLButtonElement} */ (document.getElementById("api-key-button")),
  /** @type {HTMLDialogElement} */ (document.getElementById("api-key-dialog")),
);

const pages = /** @type {const} */ ({
  chat: { section: "chat-page", title: "Chat", onShow: () => {} },
  models: { section: "models-page", title: "Models", onShow: () => modelsPage.refresh() },
});

function showPage() {
  const name = location.hash.replace(/^#\/?/, "");
  const page = name === "models" ? "models" : "chat";
  for (const [key, { section }] of Object.entries(pages)) {
    /** @type {HTMLElement} */ (document.getElementById(section)).hidden = key !== page;
  }
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.getAttribute("data-page") === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${pages[page].title} · Ostrom`;
  pages[page].onShow();
}

window.addEventListener("hashchange", () => {
  showPage();
  // Move the focus to the new page, as a page load would, so keyboard and screen-reader users land there.
  /** @type {HTMLElement} */ (document.getElementById("main")).focus();
});
showPage();
