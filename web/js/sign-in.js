// Sign-in with an API key: the header shows who the server says the key belongs to (`GET /v1/me`:
// key name, role, organization and team), the dialog takes a key, and Sign out forgets it. Any 401
// from the API opens the dialog with the server's reason. Pages marked `data-admin-only` show only to
// admins (the server enforces it anyway: member keys get 403). Depends on api.js and api-key.js.
import { ApiError, describeError } from "./api.js";
import { getApiKey, storeApiKey } from "./api-key.js";
import { byId } from "./dom.js";

/**
 * @typedef {ReturnType<typeof import("./api.js").createApiClient>} ApiClient
 * @typedef {import("./api.js").Me} Me
 */

/**
 * @param {() => ApiClient} getApi the client (created after this, since it reports 401s here)
 * @param {() => void} onChange called after signing in or out, to reload with the new key
 */
export function setUpSignIn(getApi, onChange) {
  const button = /** @type {HTMLButtonElement} */ (byId("api-key-button"));
  const signOut = /** @type {HTMLButtonElement} */ (byId("sign-out-button"));
  const status = byId("signed-in-as");
  const dialog = /** @type {HTMLDialogElement} */ (byId("api-key-dialog"));
  const reason = byId("api-key-reason");
  const form = /** @type {HTMLFormElement} */ (dialog.querySelector("form"));
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("api-key"));

  /** @param {string} [why] shown above the field, e.g. the server's 401 message */
  function prompt(why) {
    if (dialog.open) return;
    reason.textContent = why ?? "";
    reason.hidden = !why;
    input.value = getApiKey();
    dialog.showModal();
  }

  button.addEventListener("click", () => prompt());
  signOut.addEventListener("click", () => {
    storeApiKey("");
    onChange();
  });
  form.addEventListener("submit", (event) => {
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    const action = submitter instanceof HTMLButtonElement ? submitter.value : "save";
    if (action !== "save") return;
    storeApiKey(input.value.trim());
    onChange();
  });

  /** @type {Me | null} */
  let me = null;

  /** Asks the server who the key is, and shows it. Resolves to the answer, or null when unknown. */
  async function refresh() {
    const hasKey = getApiKey() !== "";
    signOut.hidden = !hasKey;
    try {
      me = await getApi().getMe();
    } catch (error) {
      me = null;
      // 401 is shown by the dialog the API client opened; 404: a server without keys at all.
      status.textContent =
        error instanceof ApiError && (error.status === 401 || error.status === 404)
          ? hasKey
            ? ""
            : "Not signed in"
          : describeError(error);
    }
    if (me) status.textContent = describeMe(me);
    button.textContent = me?.authenticated ? "Switch key" : "Sign in";
    for (const element of document.querySelectorAll("[data-admin-only]")) {
      /** @type {HTMLElement} */ (element).hidden = me?.role !== "admin";
    }
    return me;
  }

  return {
    prompt,
    refresh,
    /** The caller as the server last described it, or null. */
    get me() {
      return me;
    },
  };
}

/** @param {Me} me */
function describeMe(me) {
  if (me.authenticated === false) return "Open server (no keys yet) · admin";
  const where = [me.organization, me.team].filter(Boolean).join(" / ");
  return `Signed in as ${me.key_name ?? "?"} · ${me.role ?? "?"}${where ? ` · ${where}` : ""}`;
}
