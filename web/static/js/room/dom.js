// Small DOM and text helpers shared by the room modules: element building,
// the cached i18n catalogue, error texts and room names.

let cached = null;

function catalogue() {
  if (cached === null) {
    const node = document.getElementById("i18n");
    cached = node ? JSON.parse(node.textContent) : {};
  }
  return cached;
}

/** The catalogue text for key, with {name} placeholders filled in. */
export function t(key, values = {}) {
  const text = catalogue()[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

/** True when the catalogue has a text for key. */
export function hasText(key) {
  return catalogue()[key] !== undefined;
}

/** The text people read for an error code; never the raw code. */
export function errorText(code) {
  const key = `room.error.${code}`;
  return hasText(key) ? t(key) : t("room.error.generic");
}

/** Build an element: h("button", {class: "x", onclick: fn}, "text", child). */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      node.className = value;
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace every child of node. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** True for a caucus room key (`caucus-…`). */
export function isCaucus(room) {
  return typeof room === "string" && room.startsWith("caucus-");
}

/**
 * A caucus key a mediator may create from a free name: lower-case letters,
 * digits and hyphens after `caucus-`, at most 38 characters (the hub's rule).
 */
export function caucusKey(name) {
  const slug = String(name)
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 31);
  return slug ? `caucus-${slug}` : null;
}

/** A short local time for a line's timestamp. */
export function clock(at) {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString(document.documentElement.lang || undefined, {
    hour: "2-digit",
    minute: "2-digit",
  });
}
