// The lobby screen: waiting for the mediator to admit you, whether the
// mediator is here yet, and a knock to let them know you are waiting.

import { errorText, fill, h, t } from "./dom.js";

export class LobbyView {
  constructor({ store, connection, node, showError, showInfo }) {
    this.store = store;
    this.connection = connection;
    this.node = node;
    this.showError = showError;
    this.showInfo = showInfo;
    this.knocked = false;
    for (const kind of ["placement", "state", "roster"]) store.on(kind, () => this.render());
  }

  render() {
    const store = this.store;
    const waiting = Boolean(store.me) && !store.isMediator && store.placement === "lobby";
    const wasHidden = this.node.hidden;
    this.node.hidden = !waiting;
    if (!waiting) return;
    const mediatorHere = Boolean(store.roster?.mediator_online);
    const mayKnock = ["party", "representative", "interpreter"].includes(store.me.kind);
    fill(
      this.node,
      h("h2", { id: "lobby-title", tabindex: "-1" }, t("room.lobby.title")),
      h("p", { class: "lobby-wait" }, t("room.lobby.waiting")),
      h("p", { class: "muted", "aria-live": "polite" }, t(mediatorHere ? "room.lobby.mediator_here" : "room.lobby.mediator_away")),
      mayKnock
        ? h(
            "button",
            { type: "button", class: "button primary", id: "lobby-knock", onclick: () => this.knock() },
            t(this.knocked ? "room.lobby.knock_again" : "room.lobby.knock"),
          )
        : null,
      h("p", { class: "muted" }, t("room.lobby.private_note")),
    );
    if (wasHidden) this.node.querySelector("#lobby-title").focus();
  }

  async knock() {
    try {
      await this.connection.send("lobby.knock", {});
      this.knocked = true;
      this.showInfo(t("room.knock.sent"));
      this.render();
      this.node.querySelector("#lobby-knock")?.focus();
    } catch (error) {
      this.showError(errorText(error.code));
    }
  }
}
