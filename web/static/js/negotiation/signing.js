/**
 * Agreement signing inside the live room, so nobody has to leave to sign.
 *
 *   import { mount } from "/static/js/negotiation/signing.js";
 *   mount(element, roomApi);
 *
 * Uses `roomApi.caseRef` (the case reference) and `roomApi.me`
 * ({ partyId, role }); it talks to the HTTP API with the page's own
 * credentials (party link cookie or staff session):
 *   GET  /api/cases/{ref}/agreement              the current version, checked
 *   POST /api/cases/{ref}/agreement/sign         a party signs
 *   POST /api/cases/{ref}/agreement/countersign  the mediator countersigns
 * Each signature carries the SHA-256 of the version shown, so a change made
 * meanwhile is refused (`agreement_changed`) and the text is reloaded.
 * Call the returned `refresh()` when the room reports an agreement change
 * (the `agreement.*` notice lines). Pass `{load: false}` as a third argument
 * when the case has no agreement yet: nothing is fetched until `refresh()`.
 */
import { api, t } from "../app.js";
import { el, field } from "./dom.js";

export function mount(element, roomApi, { load = true } = {}) {
  const me = roomApi.me || {};
  const isMediator = me.role === "mediator" && me.partyId == null;
  const url = `/api/cases/${encodeURIComponent(roomApi.caseRef)}/agreement`;
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const body = el("div");
  element.replaceChildren(el("section", { class: "negotiation signing" },
    el("h2", { text: t("negotiation.agreement.title") }), status, body));

  function form(agreement) {
    const [nameRow, name] = field(t("negotiation.agreement.typed_name"), { maxlength: 200, autocomplete: "name" });
    const consentId = `consent-${Math.random().toString(36).slice(2)}`;
    const consent = el("input", { type: "checkbox", id: consentId, required: true });
    const node = el("form", { class: "card" }, nameRow,
      el("p", { class: "check" }, consent, el("label", { for: consentId, text: t("negotiation.agreement.consent") })),
      el("button", { type: "submit", class: "button primary",
        text: t(isMediator ? "negotiation.agreement.countersign" : "negotiation.agreement.sign") }));
    node.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api(`${url}/${isMediator ? "countersign" : "sign"}`, {
          method: "POST",
          json: { typed_name: name.value, consent: consent.checked, sha256: agreement.sha256 },
        });
        status.textContent = t("negotiation.agreement.signed");
        await refresh();
      } catch (error) {
        status.textContent = t("negotiation.error.generic", { message: error.message });
        if (error.code === "agreement_changed") await refresh();
      }
    });
    return node;
  }

  let shown = null;

  async function refresh() {
    let agreement;
    try {
      agreement = await api(url);
    } catch (error) {
      body.replaceChildren(el("p", { text: error.code === "agreement_not_found"
        ? t("negotiation.agreement.none") : t("negotiation.error.generic", { message: error.message }) }));
      return null;
    }
    // a signature elsewhere must not wipe what this signer is typing: keep
    // the form while the version it signs is still the current one
    const keep = shown && shown.sha256 === agreement.sha256 ? shown.form : null;
    const mine = isMediator
      ? agreement.signatures.some((s) => s.role === "mediator")
      : agreement.signatures.some((s) => s.signer === `party:${me.partyId}`);
    body.replaceChildren(
      ...agreement.languages.map((code) => el("article", { class: "agreement-text", lang: code },
        el("pre", { text: agreement.texts[code] }))),
      el("p", { class: "hash" }, el("code", { text: agreement.sha256 })),
      el("ul", { class: "signatures" }, agreement.signatures.map((s) =>
        el("li", { text: `${s.role_label}: ${s.typed_name} · ${s.signed_at}` }))),
      agreement.complete ? el("p", { class: "ok", text: t("negotiation.agreement.completed") })
        : !agreement.intact ? el("p", { class: "warning", text: t("negotiation.agreement.tampered") })
          : mine ? el("p", { class: "ok", text: t("negotiation.agreement.you_signed") })
            : keep || form(agreement));
    shown = { sha256: agreement.sha256, form: body.querySelector("form") };
    return agreement;
  }

  // with load false (no agreement yet) nothing is asked until refresh()
  const ready = load ? refresh() : Promise.resolve(null);
  if (!load) body.replaceChildren(el("p", { text: t("negotiation.agreement.none") }));
  return { refresh, ready };
}
