// The mediator console: every room (lobby, joint, caucuses) and who is in
// it; admit one or all, deny, send back to the lobby; move one or several
// people in one action (checkboxes and a target room, or one click for a
// caucus with one side); create a caucus; mute, remove, lock, end; knocks.

import { caucusKey, errorText, fill, h, isCaucus, t } from "./dom.js";
import { personName, roleLabel, roomLabel } from "./labels.js";

export class ConsoleView {
  constructor({ store, connection, node, page, chat, showError, showInfo }) {
    this.store = store;
    this.connection = connection;
    this.node = node;
    this.page = page;
    this.chat = chat;
    this.showError = showError;
    this.showInfo = showInfo;
    this.selected = new Set();
    this.knocks = [];
    this.confirming = null; // "end" or "remove:<id>": the second click confirms
    store.on("roster", () => this.render());
    store.on("rooms", () => this.render());
    store.on("state", () => this.render());
    store.on("line", (entry) => this.onLine(entry));
  }

  onLine(entry) {
    if (!this.store.isMediator) return;
    if (entry.kind === "room.move" || entry.kind === "lobby.admit") {
      // the mediator has acted on whoever knocked: the call is answered
      const moved = new Set(entry.line.content?.participants || []);
      for (const knock of this.knocks) if (moved.has(knock.participant) && knock.seq < entry.seq) knock.dismissed = true;
      this.render();
      return;
    }
    if (entry.kind !== "lobby.knock") return;
    const c = entry.line.content || {};
    // a knock is news only once, and not once its author has been moved since
    if (this.knocks.some((k) => k.seq === entry.seq)) return;
    this.knocks.push({ seq: entry.seq, participant: c.participant, from: c.from || "lobby", at: entry.at });
    this.render();
  }

  people() {
    return (this.store.roster?.people || []).filter((p) => p.kind !== "mediator");
  }

  render() {
    const store = this.store;
    if (!store.isMediator) {
      this.node.hidden = true;
      return;
    }
    this.node.hidden = false;
    const focused = document.activeElement?.id;
    const session = store.roster || store.session || {};
    const rooms = ["lobby", ...store.rooms()];
    // the usual destination first: the joint room, then caucuses, the lobby last
    const targets = [...store.rooms(), "lobby"];
    const people = this.people();
    for (const id of [...this.selected]) if (!people.some((p) => p.id === id)) this.selected.delete(id);

    fill(
      this.node,
      h("h2", { id: "console-title" }, t("room.console.title")),
      this.knocksNode(),
      this.sessionNode(session),
      this.quickNode(),
      h("div", { class: "console-rooms" }, rooms.map((room) => this.roomNode(room, people))),
      this.moveNode(targets),
    );
    if (focused) document.getElementById(focused)?.focus();
  }

  knocksNode() {
    const open = this.knocks.filter((k) => !k.dismissed);
    if (!open.length) return null;
    return h(
      "section",
      { class: "console-knocks", role: "alert", "aria-label": t("room.console.knocks") },
      h("h3", {}, t("room.console.knocks")),
      h(
        "ul",
        {},
        open.map((knock) =>
          h(
            "li",
            { dataset: { participant: knock.participant } },
            t("room.notice.knock", { who: personName(knock.participant, this.store), room: roomLabel(knock.from, this.store, this.page.parties) }),
            " ",
            knock.from !== "lobby"
              ? h("button", { type: "button", class: "button", onclick: () => this.chat.show(knock.from, { byReader: true }) }, t("room.console.go_to_room"))
              : null,
            h(
              "button",
              {
                type: "button",
                class: "button",
                onclick: () => {
                  knock.dismissed = true;
                  this.render();
                },
              },
              t("room.console.dismiss"),
            ),
          ),
        ),
      ),
    );
  }

  sessionNode(session) {
    const locked = Boolean(session.locked);
    const status = session.status || "open";
    return h(
      "div",
      { class: "console-session" },
      h("p", { class: "muted" }, t(`room.console.status.${status}`)),
      status === "scheduled"
        ? h("button", { type: "button", id: "console-open", class: "button primary", onclick: () => this.act("session.open", {}) }, t("room.console.open"))
        : null,
      h(
        "button",
        {
          type: "button",
          id: "console-lock",
          class: "button",
          "aria-pressed": locked ? "true" : "false",
          onclick: () => this.act("session.lock", { locked: !locked }),
        },
        t(locked ? "room.console.unlock" : "room.console.lock"),
      ),
      h(
        "button",
        {
          type: "button",
          id: "console-end",
          class: "button danger",
          onclick: () => this.confirmThen("end", () => this.act("session.end", {})),
        },
        t(this.confirming === "end" ? "room.console.end_confirm" : "room.console.end"),
      ),
    );
  }

  quickNode() {
    const sides = this.page.parties.map((party) =>
      h(
        "button",
        {
          type: "button",
          class: "button",
          id: `console-caucus-${party.role}`,
          onclick: () => this.caucusWith(party),
        },
        t("room.console.caucus_with", { who: t(`room.role.${party.role}`) }),
      ),
    );
    return h(
      "div",
      { class: "console-quick" },
      sides,
      h("button", { type: "button", class: "button", id: "console-all-joint", onclick: () => this.allToJoint() }, t("room.console.all_joint")),
    );
  }

  roomNode(room, people) {
    const here = people.filter((p) => (p.placement || "lobby") === room);
    const lobby = room === "lobby";
    const rows = here.map((person) => this.personRow(person, lobby));
    return h(
      "section",
      { class: `console-room${isCaucus(room) ? " caucus" : ""}${lobby ? " lobby" : ""}`, dataset: { room } },
      h(
        "h3",
        {},
        roomLabel(room, this.store, this.page.parties),
        h("span", { class: "muted" }, ` (${here.length})`),
      ),
      rows.length ? h("ul", { class: "console-people" }, rows) : h("p", { class: "muted" }, t("room.console.empty")),
      lobby && here.length
        ? h("button", { type: "button", id: "console-admit-all", class: "button primary", onclick: () => this.act("lobby.admit", { participant_ids: [], room: "joint" }) }, t("room.console.admit_all"))
        : null,
      !lobby ? h("button", { type: "button", class: "button link", onclick: () => this.chat.show(room, { byReader: true }) }, t("room.console.read")) : null,
    );
  }

  personRow(person, lobby) {
    const id = `console-pick-${person.id}`;
    const name = person.name || personName(person.id, this.store);
    const actions = [];
    if (lobby) {
      actions.push(
        h("button", { type: "button", class: "button primary", id: `console-admit-${person.id}`, dataset: { action: "admit" }, onclick: () => this.act("lobby.admit", { participant_ids: [person.id], room: "joint" }) }, t("room.console.admit")),
        h("button", { type: "button", class: "button", id: `console-deny-${person.id}`, dataset: { action: "deny" }, onclick: () => this.act("lobby.deny", { participant_id: person.id }) }, t("room.console.deny")),
      );
    } else if (!lobby) {
      actions.push(h("button", { type: "button", class: "button", id: `console-to-lobby-${person.id}`, dataset: { action: "to-lobby" }, onclick: () => this.move([person.id], "lobby") }, t("room.console.to_lobby")));
    }
    actions.push(
      h(
        "button",
        { type: "button", class: "button", "aria-pressed": person.muted ? "true" : "false", id: `console-mute-${person.id}`, dataset: { action: "mute" }, onclick: () => this.act("room.mute", { participant_ids: [person.id], audio: !person.muted, video: !person.muted }) },
        t(person.muted ? "room.console.unmute" : "room.console.mute"),
      ),
      h(
        "button",
        { type: "button", class: "button danger", id: `console-remove-${person.id}`, dataset: { action: "remove" }, onclick: () => this.confirmThen(`remove:${person.id}`, () => this.act("room.remove", { participant_id: person.id })) },
        t(this.confirming === `remove:${person.id}` ? "room.console.remove_confirm" : "room.console.remove"),
      ),
    );
    const box = h("input", {
      type: "checkbox",
      id,
      checked: this.selected.has(person.id),
      onchange: (event) => {
        if (event.target.checked) this.selected.add(person.id);
        else this.selected.delete(person.id);
      },
    });
    return h(
      "li",
      { class: `console-person${person.online ? " online" : ""}`, dataset: { participant: person.id } },
      box,
      h("label", { for: id }, h("span", { class: "presence", "aria-hidden": "true" }), name, " ", h("span", { class: "muted" }, `${roleLabel(person, this.page.parties)} · ${t(person.online ? "room.people.online" : "room.people.offline")}`)),
      h("span", { class: "console-actions" }, actions),
    );
  }

  moveNode(rooms) {
    const select = h(
      "select",
      { id: "console-target" },
      rooms.map((room) => h("option", { value: room }, roomLabel(room, this.store, this.page.parties))),
    );
    if (this.target && rooms.includes(this.target)) select.value = this.target;
    select.addEventListener("change", () => {
      this.target = select.value;
    });
    const name = h("input", { id: "console-new-caucus", type: "text", maxlength: "31", autocomplete: "off" });
    // the console is rebuilt on every roster change: keep what is being typed
    name.value = this.newName || "";
    name.addEventListener("input", () => {
      this.newName = name.value;
    });
    return h(
      "div",
      { class: "console-move" },
      h(
        "form",
        {
          class: "console-move-form",
          onsubmit: (event) => {
            event.preventDefault();
            this.move([...this.selected], select.value);
          },
        },
        h("label", { for: "console-target" }, t("room.console.move_label")),
        select,
        h("button", { type: "submit", id: "console-move", class: "button primary" }, t("room.console.move")),
      ),
      h(
        "form",
        {
          class: "console-create-form",
          onsubmit: (event) => {
            event.preventDefault();
            const key = caucusKey(name.value);
            if (!key) {
              this.showError(t("room.console.caucus_name_invalid"));
              return;
            }
            this.store.addRoom(key);
            this.target = key;
            this.newName = "";
            this.render();
            this.showInfo(t("room.console.caucus_created", { room: roomLabel(key, this.store, this.page.parties) }));
          },
        },
        h("label", { for: "console-new-caucus" }, t("room.console.new_caucus")),
        name,
        h("button", { type: "submit", class: "button" }, t("room.console.create")),
      ),
    );
  }

  confirmThen(what, action) {
    if (this.confirming === what) {
      this.confirming = null;
      action();
    } else {
      this.confirming = what;
      this.render();
      setTimeout(() => {
        if (this.confirming === what) {
          this.confirming = null;
          this.render();
        }
      }, 5000);
    }
  }

  caucusWith(party) {
    const ids = this.people()
      .filter((p) => p.kind === "party" && p.side === party.id && p.placement !== "lobby")
      .map((p) => p.id);
    if (!ids.length) {
      this.showError(t("room.console.nobody_to_move"));
      return;
    }
    const room = `caucus-${party.role}`;
    this.move(ids, room).then((ok) => ok && this.chat.show(room, { byReader: true }));
  }

  allToJoint() {
    const ids = this.people()
      .filter((p) => isCaucus(p.placement))
      .map((p) => p.id);
    if (!ids.length) {
      this.showError(t("room.console.nobody_to_move"));
      return;
    }
    this.move(ids, "joint").then((ok) => ok && this.chat.show("joint", { byReader: true }));
  }

  async move(ids, to) {
    if (!ids.length) {
      this.showError(t("room.console.select_someone"));
      return false;
    }
    const ok = await this.act("room.move", { participant_ids: ids, to });
    if (ok) this.selected.clear();
    return ok;
  }

  async act(event, payload) {
    try {
      await this.connection.send(event, payload);
      this.render();
      return true;
    } catch (error) {
      this.showError(errorText(error.code));
      return false;
    }
  }
}
