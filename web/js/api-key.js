// Sign-in with an API key. A stub for now: the server has no authentication yet, so the key is only
// stored in localStorage and sent as `Authorization: Bearer …` with every request, ready for when
// keys exist (issue: tenants and keys). Nothing here validates the key.

const storageKey = "ostrom.apiKey";

/** @returns {string} the stored key, or "" */
export function getApiKey() {
  try {
    return localStorage.getItem(storageKey) ?? "";
  } catch {
    return "";
  }
}

/**
 * Wires the header's "API key" button to its dialog.
 * @param {HTMLButtonElement} button
 * @param {HTMLDialogElement} dialog
 */
export function setUpApiKeyDialog(button, dialog) {
  const form = /** @type {HTMLFormElement} */ (dialog.querySelector("form"));
  const input = /** @type {HTMLInputElement} */ (form.elements.namedItem("api-key"));
  const showState = () => {
    const signedIn = getApiKey() !== "";
    button.textContent = signedIn ? "API key ✓" : "API key";
    button.setAttribute("aria-label", signedIn ? "API key (set)" : "API key (not set)");
  };
  button.addEventListener("click", () => {
    input.value = getApiKey();
    dialog.showModal();
  });
  form.addEventListener("submit", (event) => {
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    const action = submitter instanceof HTMLButtonElement ? submitter.value : "save";
    if (action === "save") localStorage.setItem(storageKey, input.value.trim());
    if (action === "clear") localStorage.removeItem(storageKey);
    showState();
  });
  showState();
}
