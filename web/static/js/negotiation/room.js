/**
 * The negotiation panel of the live room page.
 *
 *   import { mount, describe } from "/static/js/negotiation/room.js";
 *   mountFeature("negotiation", (element, roomApi) => mount(element, roomApi, page));
 *
 * Mounts, once the room has told the page who the viewer is (the first
 * `state`), the modules that fit the seat:
 *   - everyone in the room: the offer thread (offers.js); parties and
 *     representatives also get the offer builder and answer buttons;
 *   - the mediator: the bid round dialog, the package builder, the
 *     settlement panel (draw up, revise, countersign, close) and a link to
 *     the opinion editor;
 *   - parties: their sealed-bid dialog, package rating and signing.
 * The page's roomApi speaks in entries and room seats; the negotiation
 * modules expect `on(kind, handler(content, line))` and `me: {participantId,
 * partyId, role, room}`, so this module adapts one to the other and turns
 * error codes into catalogue texts.
 *
 * `describe(entry)` gives the chat a one-line notice for each negotiation
 * and settlement line (null for lines it should not show there).
 */
import { t } from "../room/dom.js";
import { el, money } from "./dom.js";
import { mount as mountBidding } from "./bidding.js";
import { mount as mountOffers } from "./offers.js";
import { mount as mountPackages } from "./packages.js";
import { mount as mountSettlement } from "./settlement.js";

const PARTY_SIDE = new Set(["party", "representative"]);

/** The catalogue text for an error code, falling back to the server's message. */
export function errorMessage(error) {
  for (const key of [`room.error.${error?.code}`, `negotiation.error.${error?.code}`]) {
    const text = t(key);
    if (text !== key) return text;
  }
  return error?.message || error?.code || "";
}

// a mediator's proposal goes to the room whose tab the mediator has open
const ROOM_EVENTS = new Set(["offer.make", "package.propose"]);

function mediatorRoom() {
  const room = document.querySelector('#room-tabs [aria-selected="true"]')?.dataset.room;
  return room === "joint" || room?.startsWith("caucus-") ? room : "joint";
}

/** The negotiation modules' view of the page's roomApi. */
export function adapt(roomApi, page) {
  return {
    async send(kind, payload) {
      const body = { ...payload };
      if (roomApi.me?.kind === "mediator" && ROOM_EVENTS.has(kind) && !body.room) body.room = mediatorRoom();
      try {
        return await roomApi.send(kind, body);
      } catch (error) {
        const translated = new Error(errorMessage(error));
        translated.code = error.code;
        translated.field = error.field;
        throw translated;
      }
    },
    on(kind, handler) {
      return roomApi.on(kind, (entry) => handler(entry.line?.content || {}, entry.line));
    },
    get me() {
      const me = roomApi.me;
      if (!me) return null;
      return {
        participantId: me.id,
        partyId: PARTY_SIDE.has(me.kind) ? me.side : null,
        role: me.kind,
        room: roomApi.placement,
        name: me.name,
      };
    },
    get placement() {
      return roomApi.placement;
    },
    currency: page.currency || "CNY",
    caseRef: page.case_reference,
    caseStatus: page.case_status,
    closureOutcome: page.closure_outcome,
    hasAgreement: Boolean(page.has_agreement),
    parties: page.parties || [],
  };
}

function section(name, label) {
  return el("div", { class: `negotiation-part negotiation-${name}`, "data-part": name, "aria-label": label });
}

/** Mount the panel; returns a promise of the mounted modules (for tests). */
export function mount(element, roomApi, page) {
  const api = adapt(roomApi, page);
  let resolve;
  const ready = new Promise((ok) => {
    resolve = ok;
  });
  let mounted = false;

  function build() {
    const me = api.me;
    if (mounted || !me) return;
    mounted = true;
    const isMediator = me.role === "mediator";
    const isParty = PARTY_SIDE.has(me.role);
    const heading = el("h2", { id: "negotiation-title", text: t("negotiation.room.title") });
    const parts = {};
    const children = [heading];
    const add = (name, label) => {
      parts[name] = section(name, label);
      children.push(parts[name]);
    };
    add("offers", t("negotiation.offer.title"));
    if (isMediator || isParty) add("bidding", t("negotiation.bid.title"));
    if (isMediator || isParty) add("packages", t("negotiation.package.title"));
    if (isMediator || me.role === "party") add("settlement", t("negotiation.agreement.title"));
    if (isMediator) {
      children.push(el("p", { class: "opinion-link" },
        el("a", {
          href: `/case/${encodeURIComponent(api.caseRef)}/opinion`,
          target: "_blank",
          rel: "noopener",
          text: t("negotiation.room.opinion_link"),
        })));
    }
    element.setAttribute("aria-labelledby", "negotiation-title");
    element.replaceChildren(...children);

    const modules = { offers: mountOffers(parts.offers, api) };
    if (parts.bidding) modules.bidding = mountBidding(parts.bidding, api);
    if (parts.packages) modules.packages = mountPackages(parts.packages, api);
    if (parts.settlement) modules.settlement = mountSettlement(parts.settlement, api);
    resolve(modules);
  }

  // the seat is known from the first state on; modules must subscribe before
  // the replay that follows it, so build() runs inside the state handler
  roomApi.on("state", build);
  build();
  return ready;
}

function partyName(parties, partyId) {
  const party = parties.find((p) => p.id === partyId);
  return party ? party.name : t("negotiation.room.someone");
}

/** One chat notice for a negotiation or settlement line, or null. */
export function describe(entry, page = {}) {
  const c = entry.line?.content || {};
  const offer = c.offer || {};
  const who = c.by || t("negotiation.room.someone");
  const values = { who, id: offer.id };
  switch (entry.kind) {
    case "offer.made":
      return t(offer.status === "draft" ? "negotiation.notice.offer_draft" : "negotiation.notice.offer_made", values);
    case "offer.countered":
      return t("negotiation.notice.offer_countered", values);
    case "offer.accepted":
      return t(offer.status === "accepted" ? "negotiation.notice.offer_settled" : "negotiation.notice.offer_accepted", values);
    case "offer.rejected":
      return t("negotiation.notice.offer_rejected", values);
    case "offer.withdrawn":
      return t("negotiation.notice.offer_withdrawn", values);
    case "offer.released":
      return t("negotiation.notice.offer_released", values);
    case "offer.submitted":
      return t("negotiation.notice.offer_made", values);
    case "offer.expired":
      return t("negotiation.notice.offer_expired", values);
    case "bid.opened":
      return t("negotiation.notice.bid_opened");
    case "bid.submitted":
      return t("negotiation.bid.submitted", { who });
    case "bid.result":
      if (c.settled) return t("negotiation.bid.settled", { amount: money(c.amount_minor, c.currency) });
      return c.next_round ? t("negotiation.bid.not_settled_round", { round: c.round }) : t("negotiation.bid.not_settled");
    case "bid.cancelled":
      return t("negotiation.notice.bid_cancelled");
    case "package.issues":
      return t("negotiation.notice.package_issues");
    case "package.rated":
      return t("negotiation.package.rated", { party: partyName(page.parties || [], c.party_id) });
    case "agreement.drafted":
      return t("negotiation.notice.agreement_drafted", { version: c.version });
    case "agreement.revised":
      return t(c.voided_signatures ? "negotiation.notice.agreement_voided" : "negotiation.notice.agreement_revised",
        { version: c.version, count: c.voided_signatures });
    case "agreement.signed":
      return t("negotiation.notice.agreement_signed", { who: c.name || t(`negotiation.role.${c.signer_role}`), version: c.version });
    case "agreement.completed":
      return t("negotiation.agreement.completed");
    case "opinion.issued":
      return t("negotiation.notice.opinion_issued");
    case "case.closed":
      return t("negotiation.notice.case_closed", { outcome: t(`negotiation.outcome.${c.outcome}`) });
    default:
      // bid.figure, package.suggested, package.rating_saved stay in the panel
      return null;
  }
}
