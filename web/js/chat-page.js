// The Chat page: a model picker (models, knowledge-backed assistants `kb:<name>`; models the policy
// refuses are listed but cannot be picked), the conversation list (kept in localStorage), the
// transcript with answers streamed token by token and rendered as safe Markdown, the queue position
// while a request waits, the sources of grounded answers (with license and attribution; `[n]` in the
// answer links to source n), and a Stop button that aborts the request (the server then cancels the
// generation).
import { describeError } from "./api.js";
import { createConversation, loadConversations, saveConversations } from "./conversations.js";
import { createElement } from "./dom.js";
import { formatScore } from "./format.js";
import { renderMarkdown } from "./markdown.js";

/**
 * @typedef {ReturnType<typeof import("./api.js").createApiClient>} ApiClient
 * @typedef {import("./api.js").ModelInfo} ModelInfo
 * @typedef {import("./conversations.js").Conversation} Conversation
 * @typedef {import("./conversations.js").StoredMessage} StoredMessage
 */

/**
 * @param {ApiClient} api
 * @param {Promise<ModelInfo[]>} models the store's models, fetched once by the caller
 */
export function setUpChatPage(api, models) {
  const select = /** @type {HTMLSelectElement} */ (byId("model-select"));
  const notice = byId("chat-notice");
  const transcript = byId("transcript");
  const errorBox = byId("chat-error");
  const form = /** @type {HTMLFormElement} */ (byId("composer"));
  const input = /** @type {HTMLTextAreaElement} */ (byId("message-input"));
  const sendButton = /** @type {HTMLButtonElement} */ (byId("send-button"));
  const stopButton = /** @type {HTMLButtonElement} */ (byId("stop-button"));
  const maxTokensInput = /** @type {HTMLInputElement} */ (byId("max-tokens"));
  const temperatureInput = /** @type {HTMLInputElement} */ (byId("temperature"));
  const seedInput = /** @type {HTMLInputElement} */ (byId("seed"));
  const conversationList = byId("conversation-list");

  let conversations = loadConversations();
  /** @type {Conversation | null} */
  let current = conversations[0] ?? null;
  /** @type {AbortController | null} */
  let running = null;
  /** Numbers answers on the page, so each answer's sources have ids of their own. */
  let messageCount = 0;

  // Links such as `/?max_tokens=2000&temperature=0&seed=1#/chat` preset the options.
  const query = new URLSearchParams(location.search);
  maxTokensInput.value = query.get("max_tokens") ?? "";
  temperatureInput.value = query.get("temperature") ?? "";
  seedInput.value = query.get("seed") ?? "";

  const modelsReady = models.then(
    (list) => {
      select.replaceChildren(...createModelOptions(list));
      if (list.length === 0) {
        select.append(new Option("No models", ""));
        showNotice("The store has no models yet. Add one with `ostrom pull` or `ostrom import FILE`.");
      } else {
        select.disabled = false;
        selectModel(current?.model ?? "");
      }
      performance.mark("ostrom:models-ready");
    },
    (/** @type {unknown} */ error) => {
      select.replaceChildren(new Option("Models unavailable", ""));
      showError(error);
    },
  );

  /** @param {string} id */
  function selectModel(id) {
    if (id && [...select.options].some((option) => option.value === id && !option.disabled))
      select.value = id;
  }

  /** @param {string} text */
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
  }

  /** @param {unknown} error */
  function showError(error) {
    errorBox.textContent = describeError(error);
  }

  function renderConversationList() {
    conversationList.replaceChildren(
      ...conversations.map((conversation) => {
        const item = document.createElement("li");
        const open = document.createElement("button");
        open.type = "button";
        open.className = "conversation-open";
        open.textContent = conversation.title;
        if (conversation === current) open.setAttribute("aria-current", "true");
        open.addEventListener("click", () => openConversation(conversation));
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "quiet conversation-delete";
        remove.textContent = "×";
        remove.setAttribute("aria-label", `Delete conversation “${conversation.title}”`);
        remove.addEventListener("click", () => deleteConversation(conversation));
        item.append(open, remove);
        return item;
      }),
    );
  }

  /** @param {Conversation} conversation */
  function openConversation(conversation) {
    if (running) return;
    current = conversation;
    selectModel(conversation.model);
    errorBox.textContent = "";
    transcript.replaceChildren(...conversation.messages.map((message) => createMessageElement(message)));
    renderConversationList();
    input.focus();
  }

  /** @param {Conversation} conversation */
  function deleteConversation(conversation) {
    if (running && conversation === current) return;
    conversations = conversations.filter((candidate) => candidate !== conversation);
    saveConversations(conversations);
    if (conversation === current) {
      current = null;
      transcript.replaceChildren();
    }
    renderConversationList();
  }

  function startNewConversation() {
    if (running) return;
    current = null;
    transcript.replaceChildren();
    errorBox.textContent = "";
    renderConversationList();
    input.focus();
  }

  /**
   * @param {StoredMessage} message
   * @returns {HTMLLIElement}
   */
  function createMessageElement(message) {
    const item = document.createElement("li");
    item.className = `message message-${message.role}`;
    const who = document.createElement("h2");
    who.className = "message-role";
    who.textContent = message.role === "user" ? "You" : "Assistant";
    const body = document.createElement("div");
    body.className = "message-body";
    item.append(who, body);
    if (message.role === "user") body.textContent = message.content;
    else {
      const key = `m${++messageCount}`;
      item.dataset.key = key;
      renderAnswerBody(body, message, key);
      const meta = document.createElement("p");
      meta.className = "message-meta";
      meta.textContent = describeAnswer(message, message.stopped ? "stopped" : "done");
      item.append(meta);
      if (message.sources || message.excluded) item.append(createSourceList(message, key));
    }
    return item;
  }

  /** @param {string} text */
  async function send(text) {
    const model = select.value;
    if (!model || running) return;
    errorBox.textContent = "";
    if (!current) {
      current = createConversation(model);
      current.title = text.length > 48 ? `${text.slice(0, 47)}…` : text;
      conversations.unshift(current);
    }
    const conversation = current;
    conversation.model = model;
    /** @type {StoredMessage} */
    const question = { role: "user", content: text };
    conversation.messages.push(question);
    transcript.append(createMessageElement(question));

    /** @type {StoredMessage} */
    const answer = { role: "assistant", content: "" };
    const answerElement = createMessageElement(answer);
    const answerBody = /** @type {HTMLElement} */ (answerElement.querySelector(".message-body"));
    const answerMeta = /** @type {HTMLElement} */ (answerElement.querySelector(".message-meta"));
    // Screen readers announce the answer once it is complete, not every token.
    answerElement.setAttribute("aria-busy", "true");
    answerElement.dataset.state = "streaming";
    transcript.append(answerElement);
    answerElement.scrollIntoView({ block: "end" });

    const controller = new AbortController();
    running = controller;
    setRunning(true);
    /** The animation frame of a pending render: at most one render per frame, however fast tokens come. */
    let pendingFrame = 0;
    const answerKey = answerElement.dataset.key ?? "m0";
    /** Where the request waits in the server's queue, until its first token. */
    let queuePosition = /** @type {number | undefined} */ (undefined);
    /** @param {"streaming" | "done" | "stopped" | "error"} state */
    const render = (state) => {
      cancelAnimationFrame(pendingFrame);
      pendingFrame = 0;
      renderAnswerBody(answerBody, answer, answerKey);
      answerMeta.textContent =
        state === "streaming" && queuePosition !== undefined && answer.content === ""
          ? `Queued — position ${queuePosition}`
          : describeAnswer(answer, state);
      answerElement.scrollIntoView({ block: "end" });
    };
    const renderStreaming = () => render("streaming");
    render("streaming");

    /** @type {"done" | "stopped" | "error"} */
    let outcome = "done";
    try {
      const options = {
        model,
        messages: conversation.messages.map(({ role, content }) => ({ role, content })),
        ...readNumber(maxTokensInput, "max_tokens"),
        ...readNumber(temperatureInput, "temperature"),
        ...readNumber(seedInput, "seed"),
      };
      // The question is already in `options`; the answer joins the history once it has content.
      for await (const event of api.streamChat(options, controller.signal)) {
        if ("text" in event) {
          answer.content += event.text;
          // A token count as it streams, corrected by the server's own count at the end.
          answer.tokens = (answer.tokens ?? 0) + 1;
        } else if ("completionTokens" in event) answer.tokens = event.completionTokens;
        else if ("queuePosition" in event) queuePosition = event.queuePosition;
        else {
          answer.sources = event.sources;
          answer.excluded = event.excluded;
          answerElement.querySelector(".sources")?.remove();
          answerElement.append(createSourceList(answer, answerKey));
        }
        if (pendingFrame === 0) pendingFrame = requestAnimationFrame(renderStreaming);
      }
    } catch (error) {
      if (controller.signal.aborted) outcome = "stopped";
      else {
        outcome = "error";
        showError(error);
      }
    } finally {
      running = null;
      if (outcome === "stopped") answer.stopped = true;
      render(outcome);
      answerElement.dataset.state = outcome;
      answerElement.removeAttribute("aria-busy");
      if (answer.content !== "") conversation.messages.push(answer);
      else if (outcome !== "done") answerElement.remove();
      conversation.updatedAt = Date.now();
      saveConversations(conversations);
      renderConversationList();
      setRunning(false);
    }
  }

  /** @param {boolean} isRunning */
  function setRunning(isRunning) {
    // Keep the focus on a live control: Stop while generating, the message box afterwards.
    const focused = document.activeElement;
    const refocus = isRunning ? focused === sendButton : focused === stopButton || focused === document.body;
    sendButton.disabled = isRunning;
    stopButton.disabled = !isRunning;
    form.setAttribute("aria-busy", String(isRunning));
    if (refocus) (isRunning ? stopButton : input).focus();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    void send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  stopButton.addEventListener("click", () => running?.abort());
  byId("new-chat").addEventListener("click", startNewConversation);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && running && !document.querySelector("dialog[open]")) running.abort();
  });

  renderConversationList();
  if (current) openConversation(current);

  return {
    modelsReady,
    /** Selects a model (from the Models page's "Chat with it"), starting a new conversation. */
    /** @param {string} id */
    chatWith(id) {
      startNewConversation();
      selectModel(id);
    },
  };
}

/**
 * The picker's options: models that may be served, then knowledge-backed assistants, then (disabled,
 * so they cannot be picked) the models the serving policy refuses.
 * @param {ModelInfo[]} list
 */
function createModelOptions(list) {
  const assistants = list.filter((model) => model.id.startsWith("kb:"));
  const models = list.filter((model) => !model.id.startsWith("kb:"));
  const refused = models.filter((model) => model.provenance?.servable === false);
  /** @type {Array<HTMLOptionElement | HTMLOptGroupElement>} */
  const options = models
    .filter((model) => !refused.includes(model))
    .map((model) => new Option(model.id, model.id));
  if (assistants.length > 0) {
    const group = createElement("optgroup", { label: "Knowledge assistants" });
    group.append(...assistants.map((model) => new Option(model.id, model.id)));
    options.push(group);
  }
  if (refused.length > 0) {
    const group = createElement("optgroup", { label: "Refused by policy" });
    for (const model of refused) {
      const option = new Option(`${model.id} (refused)`, model.id);
      option.disabled = true;
      group.append(option);
    }
    options.push(group);
  }
  return options;
}

/**
 * Renders an answer's Markdown into `body`, then turns each `[n]` that names one of its sources into
 * a link to that source. Only text nodes outside code and links are touched, and only split: no
 * answer text is ever parsed as HTML.
 * @param {HTMLElement} body
 * @param {StoredMessage} answer
 * @param {string} key
 */
function renderAnswerBody(body, answer, key) {
  body.replaceChildren(renderMarkdown(answer.content));
  const indexes = new Set((answer.sources ?? []).map((source, position) => source.index ?? position + 1));
  if (indexes.size === 0) return;
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  /** @type {Text[]} */
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement?.closest("code, a") && /\[\d+\]/.test(node.nodeValue ?? ""))
      texts.push(/** @type {Text} */ (node));
  }
  for (const node of texts) {
    const value = node.nodeValue ?? "";
    const pieces = value.split(/(\[\d+\])/);
    node.replaceWith(
      ...pieces.map((piece) => {
        const index = Number(/^\[(\d+)\]$/.exec(piece)?.[1]);
        if (!indexes.has(index)) return piece;
        return createElement(
          "a",
          {
            className: "citation",
            href: `#${key}-source-${index}`,
            "aria-label": `Source ${index}`,
            onclick: (/** @type {MouseEvent} */ event) => {
              // The page uses the hash for routing: move to the source without changing it.
              event.preventDefault();
              const target = document.getElementById(`${key}-source-${index}`);
              target?.scrollIntoView({ block: "nearest" });
              target?.focus();
            },
          },
          piece,
        );
      }),
    );
  }
}

/**
 * The sources of a grounded answer, numbered as the answer cites them, with license and attribution;
 * then the documents left out because of their license.
 * @param {StoredMessage} answer
 * @param {string} key
 */
function createSourceList(answer, key) {
  const sources = answer.sources ?? [];
  const excluded = answer.excluded ?? [];
  return createElement(
    "section",
    { className: "sources", "aria-label": "Sources" },
    createElement("h3", {}, sources.length > 0 ? "Sources" : "No sources found"),
    sources.length > 0 &&
      createElement(
        "ol",
        {},
        sources.map((source, position) => {
          const index = source.index ?? position + 1;
          return createElement(
            "li",
            { id: `${key}-source-${index}`, tabindex: "-1", value: index },
            createElement("strong", {}, source.title || "Untitled"),
            source.location
              ? createElement("span", { className: "source-location" }, ` — ${source.location}`)
              : null,
            createElement(
              "p",
              { className: "source-meta" },
              `License: ${source.license || "unspecified"}`,
              source.attribution ? ` · ${source.attribution}` : "",
              source.knowledge_base ? ` · ${source.knowledge_base}` : "",
              typeof source.score === "number" ? ` · score ${formatScore(source.score)}` : "",
            ),
            source.text
              ? createElement(
                  "details",
                  {},
                  createElement("summary", {}, "Passage"),
                  createElement("p", { className: "source-text" }, source.text),
                )
              : null,
          );
        }),
      ),
    excluded.length > 0 &&
      createElement(
        "p",
        { className: "hint excluded-sources" },
        `Left out because of their license: ${excluded
          .map((source) => `${source.title || "Untitled"} (${source.license || "unspecified"})`)
          .join("; ")}`,
      ),
  );
}

/**
 * The line under an answer: progress while it streams, then how it ended.
 * @param {StoredMessage} answer
 * @param {"streaming" | "done" | "stopped" | "error"} state
 */
function describeAnswer(answer, state) {
  const tokens = answer.tokens === undefined ? "" : `${answer.tokens} token${answer.tokens === 1 ? "" : "s"}`;
  const blank = answer.content.trim() === "" && answer.content !== "" ? " (only blank lines)" : "";
  switch (state) {
    case "streaming":
      return tokens ? `Generating… ${tokens}` : "Waiting for the model…";
    case "stopped":
      return `Stopped after ${tokens || "0 tokens"}.${blank}`;
    case "error":
      return tokens ? `Failed after ${tokens}.` : "Failed.";
    case "done":
      return `${tokens}${blank}`;
    default: {
      /** @type {never} */
      const unreachable = state;
      return unreachable;
    }
  }
}

/**
 * `{[name]: number}` from a number input, or `{}` when it is empty or invalid (the server default).
 * @param {HTMLInputElement} input
 * @param {string} name
 */
function readNumber(input, name) {
  const value = input.valueAsNumber;
  return input.value !== "" && Number.isFinite(value) ? { [name]: value } : {};
}

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The console's page has no #${id}.`);
  return element;
}
