// What the page says about where you are and what happened: the room banner,
// the connection status ("reconnecting…"), error and info messages, and the
// final screens (session ended, removed, not admitted, …).

import { errorText, fill, h, hasText, isCaucus, t } from "./dom.js";
import { roomLabel } from "./labels.js";

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  // a padlock for a private session, two heads for the joint session
  lock: ["M7 10V7a5 5 0 0 1 10 0v3", "M5 10h14v11H5z", "M12 14v3"],
  people: ["M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6z", "M3 20c0-3.3 2.7-6 6-6s6 2.7 6 6", "M16 11a3 3 0 1 0 0-6", "M18 14c2 .7 3.5 2.9 3.5 6"],
};

/** A small line icon drawn with SVG (no icon font, no emoji font needed). */
function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `banner-icon icon-${name}`);
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

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
      icon(caucus ? "lock" : "people"),
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
  let stopped = false;
  const show = (text, kind) => {
    // once the room has closed, its final screen is the only message
    if (stopped) return;
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
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      node.hidden = true;
    },
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
