// The room page: wires the store, the connection, the views and, for a
// mediator's seat, the console. Later features mount on the marked elements
// (data-mount="media" | "negotiation" | "translation") with window-free
// access to roomApi through mountFeature().

import { RoomConnection, createRoomApi } from "./connection.js";
import { ConsoleView } from "./console.js";
import { ChatView } from "./chat.js";
import { BannerView, bindStatus, messenger, showScreen } from "./banner.js";
import { LobbyView } from "./lobby.js";
import { PeopleView } from "./people.js";
import { RoomStore } from "./store.js";
import { h, t } from "./dom.js";
import { describe as describeNegotiation, mount as mountNegotiation } from "../negotiation/room.js";
import { installTranslation } from "../translation/main.js";
import { personName, roomLabel } from "./labels.js";

const byId = (id) => document.getElementById(id);

const page = JSON.parse(byId("room-data").textContent);
const root = byId("room");
const store = new RoomStore();
const connection = new RoomConnection(page.session_id, store, {
  debug: new URLSearchParams(location.search).has("debug"),
});
const roomApi = createRoomApi(connection, store, t);
const messages = messenger(byId("room-error"));
const main = byId("room-main");

const chat = new ChatView({
  store,
  connection,
  page,
  showError: messages.error,
  showInfo: messages.info,
  els: {
    tabs: byId("room-tabs"),
    list: byId("chat-lines"),
    typing: byId("typing"),
    composer: byId("composer"),
    text: byId("composer-text"),
    send: byId("composer-send"),
    knock: byId("knock-button"),
    evidenceForm: byId("evidence-form"),
    evidenceSelect: byId("evidence-select"),
  },
});
const banner = new BannerView({ store, node: byId("room-banner"), page, chat });
new PeopleView({ store, list: byId("people-list"), page });
new LobbyView({
  store,
  connection,
  node: byId("room-lobby"),
  showError: messages.error,
  showInfo: messages.info,
});
const console_ = new ConsoleView({
  store,
  connection,
  node: byId("room-console"),
  page,
  chat,
  showError: messages.error,
  showInfo: messages.info,
});

// the banner follows the mediator's tab as well as the placement
byId("room-tabs").addEventListener("click", () => banner.render());
store.on("rooms", () => banner.render());
const showChat = () => {
  const inRoom = Boolean(store.me) && (store.isMediator || store.placement !== "lobby");
  main.hidden = !inRoom;
  root.dataset.placement = store.placement;
  root.dataset.seat = store.me?.kind || "";
  banner.render();
};
store.on("placement", showChat);
store.on("state", showChat);
const originalShow = chat.show.bind(chat);
chat.show = (room, options) => {
  originalShow(room, options);
  banner.render();
  console_.render();
};

bindStatus(connection, byId("room-status"), root);
connection.on("status", ({ status, code }) => {
  if (status === "closed") {
    messages.stop();
    showScreen(byId("room-screen"), [main, byId("room-lobby"), byId("room-banner"), byId("room-console"), byId("room-error")], code);
  }
});

/**
 * Mount a later feature on its marked element: `mount(element, roomApi)`.
 * Example: mountFeature("negotiation", (await import("../negotiation.js")).mount)
 */
export function mountFeature(name, mount) {
  const element = document.querySelector(`[data-mount="${name}"]`);
  if (!element) throw new Error(`no mount point named ${name}`);
  element.hidden = false;
  return mount(element, roomApi);
}

/**
 * Per-line features (the translation toggle, "show original"): fn(entry,
 * mountElement, lineElement) runs for each chat line node as it is built;
 * mountElement is the line's hidden `data-mount="translation"` element.
 */
export function decorateLines(fn) {
  chat.decorate(fn);
}

/**
 * Notices of feature lines in the chat (offers, settlement steps): fn(entry)
 * returns the text of a line the room's own labels do not know, or null.
 */
const noticeTexts = [];
export function describeLines(fn) {
  noticeTexts.push(fn);
  chat.render(true);
}
const roomNotice = chat.noticeNode.bind(chat);
chat.noticeNode = (entry) => {
  const own = roomNotice(entry);
  if (own) return own;
  for (const fn of noticeTexts) {
    const text = fn(entry);
    if (text) return h("li", { class: "line line-notice", dataset: { seq: entry.seq, kind: entry.kind } }, text);
  }
  return null;
};

export { roomApi };

// negotiation: offers, blind bids, packages, the agreement and closure
describeLines((entry) => describeNegotiation(entry, page));
mountFeature("negotiation", (element, api) => mountNegotiation(element, api, page));

// machine translation and the interpreter's desk, when the server translates
if (page.translation?.enabled) installTranslation({ roomApi, decorateLines, mountFeature, page });

// room media (web/static/js/media/): tiles, self view, camera and microphone;
// loaded on its own so that a failure there never takes the chat down
import("../media/panel.js")
  .then(({ mount }) =>
    mountFeature("media", (element, api) =>
      mount(element, api, {
        config: page.media,
        nameOf: (id) => personName(id, store),
        roomName: (room) => roomLabel(room, store, page.parties),
        rooms: () => store.rooms(),
        onRooms: (handler) => store.on("rooms", handler),
      }),
    ),
  )
  .catch((error) => console.warn("room media unavailable", error));

connection.start();
