/**
 * Blind-bid dialog for the live room.
 *
 *   import { mount } from "/static/js/negotiation/bidding.js";
 *   mount(element, roomApi);
 *
 * `roomApi` as in offers.js: `send(kind, payload)` → Promise, `on(kind,
 * handler)`, `me` ({ participantId, partyId, role, room }), optional
 * `currency`.
 *
 * The mediator opens a round (`bid.open` with currency, rounds,
 * tolerance_percent and/or tolerance_minor, mediator_sees_figures) and may
 * cancel it (`bid.cancel`). A party seals one figure per round (`bid.submit`
 * with bid_round_id and figure_minor). Lines handled: `bid.opened`,
 * `bid.submitted` (names who submitted, never a figure), `bid.result`
 * (settled or not; the amount only when settled), `bid.cancelled`, and for
 * the mediator `bid.figure` when the rule lets the mediator see figures.
 * The party's own figure is cleared from the form once sent and is never
 * kept in the page's state.
 */
import { t } from "../app.js";
import { el, field, money, toMinor } from "./dom.js";

export function mount(element, roomApi) {
  const me = roomApi.me || {};
  const currency = roomApi.currency || "CNY";
  const isMediator = me.role === "mediator" && me.partyId == null;
  const state = { bid: null, rule: null, round: 1 };
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const log = el("ul", { class: "bid-log", "aria-live": "polite" });
  const panel = el("div", { class: "bid-panel" });
  element.replaceChildren(el("section", { class: "negotiation bidding" },
    el("h2", { text: t("negotiation.bid.title") }),
    el("p", { class: "meta", text: t("negotiation.bid.explain") }), status, panel, log));

  const say = (text) => log.append(el("li", { text }));
  const fail = (error) => {
    status.textContent = t("negotiation.error.generic", { message: error.message || error.code });
  };

  function openForm() {
    const [roundsRow, rounds] = field(t("negotiation.bid.rounds"), { type: "number", min: 1, max: 10, value: 3 });
    const [pctRow, pct] = field(t("negotiation.bid.tolerance_percent"), { inputmode: "decimal", value: "10" });
    const [amtRow, amt] = field(t("negotiation.bid.tolerance_amount"), { inputmode: "decimal" });
    const [seesRow, sees] = field(t("negotiation.bid.mediator_sees"), { type: "checkbox" });
    const form = el("form", { class: "card" }, roundsRow, pctRow, amtRow, seesRow,
      el("button", { type: "submit", class: "button primary", text: t("negotiation.bid.open") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await roomApi.send("bid.open", {
          currency,
          rounds: Number(rounds.value),
          tolerance_percent: pct.value.trim() || null,
          tolerance_minor: amt.value.trim() ? toMinor(amt.value) : null,
          mediator_sees_figures: sees.checked,
        });
      } catch (error) { fail(error); }
    });
    return form;
  }

  function figureForm() {
    const [row, input] = field(t("negotiation.bid.your_figure"), { inputmode: "decimal", autocomplete: "off" });
    const form = el("form", { class: "card" }, row,
      el("button", { type: "submit", class: "button primary", text: t("negotiation.bid.submit") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const minor = toMinor(input.value);
      input.value = "";
      if (minor === null || minor <= 0) { input.focus(); return; }
      try {
        await roomApi.send("bid.submit", { bid_round_id: state.bid, figure_minor: minor });
        panel.replaceChildren(el("p", { text: t("negotiation.bid.waiting") }));
      } catch (error) { fail(error); }
    });
    return form;
  }

  function render() {
    if (!state.bid) {
      panel.replaceChildren(isMediator ? openForm() : el("p", { text: "" }));
      return;
    }
    const heading = el("p", { class: "meta",
      text: t("negotiation.bid.round", { round: state.round, rounds: state.rule.rounds }) });
    panel.replaceChildren(heading, me.partyId ? figureForm() : null);
  }

  roomApi.on("bid.opened", (c) => {
    Object.assign(state, { bid: c.bid_round_id, rule: c.rule, round: c.round });
    render();
  });
  roomApi.on("bid.submitted", (c) => say(t("negotiation.bid.submitted", { who: c.by })));
  const partyName = (id) => (roomApi.parties || []).find((p) => p.id === id)?.name ?? `#${id}`;
  roomApi.on("bid.figure", (c) => say(`#${c.round} · ${partyName(c.party_id)}: ${money(c.figure_minor, c.currency)}`));
  roomApi.on("bid.result", (c) => {
    if (c.settled) {
      say(t("negotiation.bid.settled", { amount: money(c.amount_minor, c.currency) }));
      state.bid = null;
    } else if (c.next_round) {
      say(t("negotiation.bid.not_settled_round", { round: c.round }));
      state.round = c.next_round;
    } else {
      say(t("negotiation.bid.not_settled"));
      state.bid = null;
    }
    render();
  });
  roomApi.on("bid.cancelled", () => { state.bid = null; render(); });
  render();
  return { state };
}
