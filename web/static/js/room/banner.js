// What the page says about where you are and what happened: the room banner,
// the connection status ("reconnecting…"), error and info messages, and the
// final screens (session ended, removed, not admitted, …).

import { errorText, fill, h, hasText, isCaucus, t } from "./dom.js";
import { roomLabel } from "./labels.js";

/** The banner: unmistakable about who can read what is said here. */
export class BannerView {
  constructor({ store, node, page, chat }) {
    this.store = store;
    this.node = node;
    this.page = page;
    this.chat = chat;
    for (const kind of ["placement", "state", "rooms"]) store.on(kind, () => this.render());
  }

  render() {
    const store = this.store;
    // a mediator reads the room of the shown tab; anyone else their own room
    const room = store.isMediator ? this.chat.active || "joint" : store.placement;
    if (!store.me || (!store.isMediator && room === "lobby")) {
      this.node.hidden = true;
      return;
    }
    const caucus = isCaucus(room);
    let text;
    if (!caucus) text = t("room.banner.joint");
    else if (store.isMediator) text = t("room.banner.caucus_mediator", { room: roomLabel(room, store, this.page.parties) });
    else text = t("room.banner.caucus");
    this.node.className = `room-banner ${caucus ? "banner-caucus" : "banner-joint"}`;
    this.node.dataset.room = room;
    fill(
      this.node,
      h("span", { class: "banner-icon", "aria-hidden": "true" }, caucus ? "🔒" : "👥"),
      h("strong", { class: "banner-text" }, text),
    );
    this.node.hidden = false;
  }
}

/** The connection status line: visible while connecting or reconnecting. */
export function bindStatus(connection, node, root) {
  connection.on("status", ({ status }) => {
    root.dataset.phase = status;
    node.dataset.status = status;
    const key = `room.status.${status}`;
    node.textContent = hasText(key) ? t(key) : "";
    node.hidden = status === "online" || status === "closed";
  });
}

/** Error and info messages, from the catalogue, cleared after a while. */
export function messenger(node) {
  let timer = null;
  const show = (text, kind) => {
    clearTimeout(timer);
    node.textContent = text;
    node.className = `room-error ${kind}`;
    node.setAttribute("role", kind === "error" ? "alert" : "status");
    node.hidden = false;
    timer = setTimeout(() => {
      node.hidden = true;
    }, 8000);
  };
  return {
    error: (text) => show(text, "error"),
    info: (text) => show(text, "info"),
  };
}

/** Replace the room with a final screen that says why (ended, removed, …). */
export function showScreen(screen, main, code) {
  const known = hasText(`room.screen.${code}.title`);
  const key = known ? code : "closed";
  fill(
    screen,
    h("h2", { id: "room-screen-title" }, t(`room.screen.${key}.title`)),
    h("p", {}, known ? t(`room.screen.${key}.text`) : errorText(code)),
    h("p", {}, h("a", { class: "button", href: "/" }, t("room.screen.home"))),
  );
  screen.dataset.screen = key;
  for (const node of main) node.hidden = true;
  screen.hidden = false;
  screen.focus();
}
