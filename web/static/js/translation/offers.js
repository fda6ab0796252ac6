// Offers in the reader's language: under each offer the negotiation panel
// shows (article[data-offer-id] inside data-mount="negotiation"), the
// machine translation of its free-text terms and note, marked as such, with
// the language of the offer as written, which is the text of record.

import { h } from "../room/dom.js";
import { languageName } from "./lines.js";

export function annotateOffers({ state, roomApi }) {
  const root = document.querySelector('[data-mount="negotiation"]');
  if (!root) return;
  const t = roomApi.t;
  let scheduled = false;

  const annotate = () => {
    scheduled = false;
    for (const article of root.querySelectorAll("article[data-offer-id]")) {
      const id = Number(article.dataset.offerId);
      const shown = state.language ? state.offerShown(id, state.language) : null;
      const old = article.querySelector(":scope > .offer-translation");
      const signature = shown ? `${shown.seq}:${state.language}` : "";
      if ((old?.dataset.signature || "") === signature) continue;
      old?.remove();
      if (!shown || shown.content.status !== "machine") continue;
      const c = shown.content;
      const record = languageName(c.record_language || c.source, t);
      article.append(
        h(
          "div",
          { class: "offer-translation", lang: c.target, dataset: { signature } },
          h("p", { class: "translation-mark" }, t("translation.offer.title", { language: languageName(c.target, t) })),
          h("ul", {}, (c.terms || []).map((term) => h("li", { dataset: { index: term.index } }, term.text))),
          c.note ? h("p", {}, `${t("translation.offer.note")} ${c.note}`) : null,
          h("p", { class: "translation-note" }, t("translation.offer.record", { language: record })),
        ),
      );
    }
  };
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(annotate);
  };
  new MutationObserver(later).observe(root, { childList: true, subtree: true });
  state.on("offers", later);
  state.on("language", later);
}
