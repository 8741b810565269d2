// Builds DOM elements from plain values: the one way the console's pages make elements. Strings
// become text nodes and attribute values, never markup, so nothing a server, a model or a document
// says is ever parsed as HTML. Depends on nothing but the DOM.

/**
 * @typedef {string | number | boolean | null | undefined | ((event: any) => void)} PropValue
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * `createElement("button", { type: "button", onclick: f }, "Save")`. Props: `className`, `hidden`,
 * `on<event>` listeners, `data-*`/`aria-*` and any other attribute (`false`/`null` leave it out).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, PropValue>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function createElement(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "className") element.className = String(value);
    else if (name === "hidden") element.hidden = Boolean(value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  appendChildren(element, children);
  return element;
}

/**
 * @param {Element} parent
 * @param {Array<Child | Child[]>} children
 */
function appendChildren(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === "number" ? String(child) : child);
  }
}

/**
 * The element with this id; throws when the page lacks it (a bug, not a runtime condition).
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`The console's page has no #${id}.`);
  return element;
}

/**
 * A definition list of label/value pairs, skipping empty values.
 * @param {Array<[string, Child]>} pairs
 */
export function createDefinitionList(pairs) {
  const list = createElement("dl");
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "" || value === false) continue;
    list.append(createElement("dt", {}, label), createElement("dd", {}, value));
  }
  return list;
}
