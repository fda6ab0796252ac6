// Small DOM helpers for the negotiation modules: build elements without
// innerHTML, so that text typed by a party can never become markup.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

let counter = 0;

// A labelled form field; returns [wrapper, input].
export function field(label, attrs = {}, tag = "input") {
  counter += 1;
  const id = `neg-${counter}`;
  const input = el(tag, { id, ...attrs });
  return [el("p", {}, el("label", { for: id, text: label }), input), input];
}

// Minor units to "CNY 1,234.56": the same written form as the agreement.
export function money(minor, currency) {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const major = Math.floor(abs / 100).toLocaleString("en-US");
  return `${currency} ${sign}${major}.${String(abs % 100).padStart(2, "0")}`;
}

// "1,234.56" or "1234.5" typed by a person to minor units, or null.
export function toMinor(text) {
  const clean = String(text).replace(/[\s,']/g, "");
  if (!/^\d+(\.\d{1,2})?$/.test(clean)) return null;
  const [major, cents = ""] = clean.split(".");
  return Number(major) * 100 + Number(cents.padEnd(2, "0"));
}
