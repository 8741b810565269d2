// The console's entry point: signs in (if a key is stored), fetches the model list once, sets up
// each page and shows the one named in the URL's hash (#/chat, #/models, #/knowledge, #/usage,
// #/operations). Hash routing keeps every page at `/`, so the server needs no knowledge of the
// console's pages. Admin-only pages show only to admin keys.
import { createApiClient } from "./api.js";
import { getApiKey, storeApiKey } from "./api-key.js";
import { setUpChatPage } from "./chat-page.js";
import { setUpKnowledgePage } from "./knowledge-page.js";
import { setUpModelsPage } from "./models-page.js";
import { setUpOperationsPage } from "./operations-page.js";
import { setUpSignIn } from "./sign-in.js";
import { setUpUsagePage } from "./usage-page.js";

// A new key changes what every page may see: start again with it.
const signIn = setUpSignIn(
  () => api,
  () => location.reload(),
);
const api = createApiClient(getApiKey, {
  onUnauthorized: (error) =>
    signIn.prompt(
      getApiKey() === "" ? "This server needs an API key." : `The key was refused: ${error.message}`,
    ),
});
const me = signIn.refresh();
const models = api.listModels();
// The pages report a failed list themselves; this keeps the shared promise from being "unhandled".
models.catch(() => {});

const chat = setUpChatPage(api, models);
const modelsPage = setUpModelsPage(
  api,
  models,
  (id) => {
    chat.chatWith(id);
    location.hash = "#/chat";
  },
  async () => (await me)?.role === "admin",
);
const knowledgePage = setUpKnowledgePage(api);
const usagePage = setUpUsagePage(api, me);
const operationsPage = setUpOperationsPage(api, {
  isOpenServer: async () => (await me)?.authenticated === false,
  adoptKey: (key) => {
    storeApiKey(key);
    void signIn.refresh();
  },
});

/**
 * @typedef {{ section: string, title: string, adminOnly?: boolean, onShow?: () => void, onHide?: () => void }} Page
 * @type {Record<string, Page>}
 */
const pages = {
  chat: { section: "chat-page", title: "Chat" },
  models: { section: "models-page", title: "Models", onShow: () => modelsPage.refresh() },
  knowledge: { section: "knowledge-page", title: "Knowledge", onShow: () => knowledgePage.refresh() },
  usage: { section: "usage-page", title: "Usage", onShow: () => usagePage.show() },
  operations: {
    section: "operations-page",
    title: "Operations",
    adminOnly: true,
    onShow: () => operationsPage.show(),
    onHide: () => operationsPage.hide(),
  },
};
/** @type {string | null} */
let shownPage = null;

async function showPage() {
  const name = location.hash.replace(/^#\/?/, "");
  let page = name in pages ? name : "chat";
  if (pages[page]?.adminOnly && (await me)?.role !== "admin") page = "usage";
  const current = /** @type {Page} */ (pages[page]);
  if (shownPage !== null && shownPage !== page) pages[shownPage]?.onHide?.();
  for (const [key, { section }] of Object.entries(pages)) {
    /** @type {HTMLElement} */ (document.getElementById(section)).hidden = key !== page;
  }
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.getAttribute("data-page") === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${current.title} · Ostrom`;
  shownPage = page;
  current.onShow?.();
}

window.addEventListener("hashchange", () => {
  void showPage();
  // Move the focus to the new page, as a page load would, so keyboard and screen-reader users land there.
  /** @type {HTMLElement} */ (document.getElementById("main")).focus();
});
void showPage();
