/**
 * Offer builder and offer thread for the live room.
 *
 * Usage (by the room page):
 *
 *   import { mount } from "/static/js/negotiation/offers.js";
 *   const offers = mount(element, roomApi);
 *
 * `roomApi` is a small object the room page supplies:
 *   - `send(kind, payload)` sends a room event and returns a Promise that
 *     resolves with the server's acknowledgement or rejects with an error
 *     carrying `.code` and `.message`;
 *   - `on(kind, handler)` calls `handler(content, line)` for every transcript
 *     line of that kind the participant is entitled to (live and replayed);
 *   - `me`: `{ participantId, partyId (null for staff), role, room }`;
 *   - `currency` (optional): the case's currency, default "CNY".
 *
 * Events sent: `offer.make`, `offer.counter`, `offer.accept`, `offer.reject`,
 * `offer.withdraw`, `offer.release`. Lines handled: `offer.made`,
 * `offer.countered`, `offer.accepted`, `offer.rejected`, `offer.withdrawn`,
 * `offer.released`, `offer.submitted`, `offer.expired` — each carries the
 * offer's full current state in `content.offer`. The server decides who
 * receives what (a caucus offer reaches the other side only once released);
 * this module only shows what arrives. Returns `{ offers }`, the Map of
 * offers by id, for tests and for the package builder.
 */
import { t } from "../app.js";
import { el, field, money, toMinor } from "./dom.js";

const KINDS = [
  "offer.made", "offer.countered", "offer.accepted", "offer.rejected",
  "offer.withdrawn", "offer.released", "offer.submitted", "offer.expired",
];

function termText(term) {
  if (term.type === "monetary") {
    let text = money(term.amount_minor, term.currency);
    if (term.due_date) text += ` · ${t("negotiation.offer.due_date")} ${term.due_date}`;
    if (term.instalments > 1) text += ` · ${t("negotiation.offer.instalments")} ${term.instalments}`;
    return text;
  }
  return term.deadline ? `${term.text} · ${t("negotiation.offer.deadline")} ${term.deadline}` : term.text;
}

function builder(roomApi, status, answering) {
  const currency = roomApi.currency || "CNY";
  const [amountRow, amount] = field(t("negotiation.offer.amount"), { inputmode: "decimal" });
  const [dueRow, due] = field(t("negotiation.offer.due_date"), { type: "date" });
  const [instRow, instalments] = field(t("negotiation.offer.instalments"), {
    type: "number", min: 1, max: 120, value: 1,
  });
  const [oblRow, obligation] = field(t("negotiation.offer.obligation"), { maxlength: 2000 });
  const [deadlineRow, deadline] = field(t("negotiation.offer.deadline"), { type: "date" });
  const [noteRow, note] = field(t("negotiation.offer.note"), { maxlength: 2000 });
  const form = el("form", { class: "offer-builder card" },
    el("h3", { text: answering ? t("negotiation.offer.counter") : t("negotiation.offer.new") }),
    amountRow, el("p", { class: "meta", text: `${t("negotiation.offer.currency")}: ${currency}` }),
    dueRow, instRow, oblRow, deadlineRow, noteRow,
    el("button", { type: "submit", class: "button primary", text: t("negotiation.offer.send") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const terms = [];
    if (amount.value.trim()) {
      const minor = toMinor(amount.value);
      if (minor === null || minor <= 0) {
        status.textContent = t("negotiation.error.generic", { message: amount.value });
        amount.focus();
        return;
      }
      terms.push({ type: "monetary", amount_minor: minor, currency,
        due_date: due.value || null, instalments: Number(instalments.value) || 1 });
    }
    if (obligation.value.trim()) {
      terms.push({ type: "obligation", text: obligation.value.trim(), deadline: deadline.value || null });
    }
    const payload = { terms, note: note.value };
    try {
      if (answering) await roomApi.send("offer.counter", { ...payload, offer_id: answering });
      else await roomApi.send("offer.make", payload);
      form.reset();
      if (answering) form.remove();
    } catch (error) {
      status.textContent = t("negotiation.error.generic", { message: error.message || error.code });
    }
  });
  return form;
}

export function mount(element, roomApi) {
  const offers = new Map();
  const me = roomApi.me || {};
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const list = el("div", { class: "offer-thread", "aria-live": "polite" });
  element.replaceChildren(
    el("section", { class: "negotiation offers" },
      el("h2", { text: t("negotiation.offer.title") }), status, list,
      me.partyId || me.role === "mediator" ? builder(roomApi, status, null) : null));

  async function act(kind, payload) {
    try {
      await roomApi.send(kind, payload);
    } catch (error) {
      status.textContent = t("negotiation.error.generic", { message: error.message || error.code });
    }
  }

  // the reason is optional; asked for in the page, never in a browser prompt
  function rejectForm(offerId) {
    const [row, reason] = field(t("negotiation.offer.reject_reason"), { maxlength: 2000 });
    const form = el("form", { class: "reject card" }, row,
      el("button", { type: "submit", class: "button", text: t("negotiation.offer.reject") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      await act("offer.reject", { offer_id: offerId, reason: reason.value });
    });
    queueMicrotask(() => reason.focus());
    return form;
  }

  function actions(offer) {
    const own = offer.author_party_id === null
      ? me.role === "mediator" && me.partyId == null
      : offer.author_party_id === me.partyId;
    const open = offer.status === "open";
    const buttons = [];
    if (open && me.partyId && !own && !(offer.acceptances || []).includes(me.partyId)) {
      buttons.push(el("button", { type: "button", class: "button primary",
        text: t("negotiation.offer.accept"), onclick: () => act("offer.accept", { offer_id: offer.id }) }));
      buttons.push(el("button", { type: "button", class: "button",
        text: t("negotiation.offer.reject"), onclick: (event) => {
          const article = event.currentTarget.closest(".offer");
          if (article.querySelector("form.reject")) return;
          article.append(rejectForm(offer.id));
        } }));
      buttons.push(el("button", { type: "button", class: "button",
        text: t("negotiation.offer.counter"), onclick: (event) => {
          event.currentTarget.closest(".offer").append(builder(roomApi, status, offer.id));
        } }));
    }
    if (own && (open || offer.status === "draft")) {
      buttons.push(el("button", { type: "button", class: "button",
        text: t("negotiation.offer.withdraw"), onclick: () => act("offer.withdraw", { offer_id: offer.id }) }));
      if (open && offer.room !== "joint" && !offer.released) {
        buttons.push(el("button", { type: "button", class: "button",
          text: t("negotiation.offer.release"), onclick: () => act("offer.release", { offer_id: offer.id }) }));
      }
    }
    return buttons.length ? el("div", { class: "actions" }, buttons) : null;
  }

  function render() {
    const nodes = [];
    const ordered = [...offers.values()].sort((a, b) => a.id - b.id);
    for (const offer of ordered) {
      const reply = offer.answers_offer_id && offers.has(offer.answers_offer_id);
      nodes.push(el("article", {
        class: reply ? "offer reply" : "offer", "data-status": offer.status, "data-offer-id": offer.id,
      },
        el("h3", {}, `#${offer.id} · ${t(`negotiation.offer.status.${offer.status}`)}`,
          offer.room !== "joint" && !offer.released ? ` · ${t("negotiation.offer.private")}` : ""),
        offer.by ? el("p", { class: "meta", text: t("negotiation.offer.by", { who: offer.by }) }) : null,
        offer.answers_offer_id ? el("p", { class: "meta",
          text: t("negotiation.offer.answers", { id: offer.answers_offer_id }) }) : null,
        el("ul", {}, offer.terms.map((term) => el("li", { text: termText(term) }))),
        offer.note ? el("p", { text: offer.note }) : null,
        actions(offer)));
    }
    list.replaceChildren(...(nodes.length ? nodes : [el("p", { text: t("negotiation.offer.empty") })]));
  }

  for (const kind of KINDS) {
    roomApi.on(kind, (content) => {
      const known = offers.get(content.offer.id) || {};
      offers.set(content.offer.id, { ...known, ...content.offer, by: known.by || content.by });
      render();
    });
  }
  render();
  return { offers };
}
