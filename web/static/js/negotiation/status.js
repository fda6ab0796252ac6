// Shared by the settlement pages: show an outcome or an API error in the
// page's aria-live status line, in the page's language.
import { t } from "../app.js";

export function say(node, text, isError = false) {
  if (!node) return;
  node.textContent = text;
  node.classList.toggle("error", isError);
}

export function sayError(node, error) {
  say(node, t("negotiation.error.generic", { message: error.message || String(error) }), true);
}
