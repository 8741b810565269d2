// Where the console keeps the API key it signs in with: this browser's localStorage, sent as
// `Authorization: Bearer …` with every request (see api.js). Nothing here checks the key; the
// server does (sign-in.js asks it who the key belongs to).

const storageKey = "ostrom.apiKey";

/** @returns {string} the stored key, or "" */
export function getApiKey() {
  try {
    return localStorage.getItem(storageKey) ?? "";
  } catch {
    return "";
  }
}

/** @param {string} key the key to keep, or "" to forget it */
export function storeApiKey(key) {
  if (key === "") localStorage.removeItem(storageKey);
  else localStorage.setItem(storageKey, key);
}
