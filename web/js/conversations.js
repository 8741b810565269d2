// Conversations kept in the browser's localStorage, never on the server. Bounded: the newest
// `maxConversations` are kept, and when storage is full the oldest are dropped until the rest fit.

const storageKey = "ostrom.conversations.v1";
const maxConversations = 50;

/**
 * @typedef {import("./api.js").Source} Source
 * @typedef {{ role: "user" | "assistant", content: string, stopped?: boolean, tokens?: number,
 *   sources?: Source[], excluded?: Source[] }} StoredMessage
 * @typedef {{ id: string, title: string, model: string, messages: StoredMessage[], updatedAt: number }} Conversation
 */

/** @returns {Conversation[]} newest first */
export function loadConversations() {
  try {
    const parsed = JSON.parse(localStorage.getItem(storageKey) ?? "[]");
    return Array.isArray(parsed) ? parsed.filter(isConversation) : [];
  } catch {
    return [];
  }
}

/** @param {Conversation[]} conversations */
export function saveConversations(conversations) {
  const kept = [...conversations].sort((a, b) => b.updatedAt - a.updatedAt).slice(0, maxConversations);
  while (kept.length > 0) {
    try {
      localStorage.setItem(storageKey, JSON.stringify(kept));
      return;
    } catch {
      kept.pop(); // quota exceeded: forget the oldest conversation and try again
    }
  }
  localStorage.removeItem(storageKey);
}

/**
 * @param {string} model
 * @returns {Conversation}
 */
export function createConversation(model) {
  return { id: crypto.randomUUID(), title: "New chat", model, messages: [], updatedAt: Date.now() };
}

/**
 * @param {unknown} value
 * @returns {value is Conversation}
 */
function isConversation(value) {
  const candidate = /** @type {Partial<Conversation> | null} */ (value);
  return (
    typeof candidate?.id === "string" &&
    typeof candidate.title === "string" &&
    Array.isArray(candidate.messages) &&
    typeof candidate.updatedAt === "number"
  );
}
