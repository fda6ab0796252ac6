// The chat view: per-room tabs, the line list (scrollback, corrections,
// withdrawals, releases, shared evidence, notices), the composer with typing,
// knocking from a caucus, and sharing an evidence item.

import { clock, errorText, fill, h, isCaucus, t } from "./dom.js";
import { noticeText, personName, roomLabel } from "./labels.js";

const CHAT_KINDS = new Set(["chat", "chat.release", "evidence.share"]);
const TYPING_IDLE_MS = 3000;

export class ChatView {
  /** els: {tabs, list, typing, composer, text, send, knock, evidenceForm, evidenceSelect} */
  constructor({ store, connection, els, page, showError, showInfo }) {
    this.store = store;
    this.connection = connection;
    this.els = els;
    this.page = page;
    this.showError = showError;
    this.showInfo = showInfo;
    this.active = null; // the room whose lines are shown
    this.pinned = false; // the reader picked a tab themselves
    this.items = new Map(); // seq -> {node, key}
    this.editing = null; // seq being corrected
    this.typingSent = false;
    this.typingTimer = null;
    this.sending = false;
    // later features (translation) fill each line's mount point; see decorate()
    this.decorators = [];

    store.on("lines", () => this.render());
    store.on("entry", (entry) => entry.room === this.active && this.render());
    store.on("reset", () => this.render(true));
    store.on("rooms", () => this.renderTabs());
    // authors' names come with the roster: redraw only when one is new
    store.on("names", () => this.render(true));
    store.on("placement", () => this.follow());
    store.on("state", () => this.follow());
    store.on("typing", () => this.renderTyping());
    connection.on("status", () => this.renderComposer());
    // the correction window closes as time passes; typing indicators go stale
    setInterval(() => {
      this.render();
      this.renderTyping();
    }, 10000);
    this.bind();
  }

  /**
   * Run fn(entry, mountElement, lineElement) for every line node built from
   * now on (a node is rebuilt when its line changes), and redraw the list.
   */
  decorate(fn) {
    this.decorators.push(fn);
    this.render(true);
  }

  /** Show the room I was placed in, unless the reader chose another tab. */
  follow() {
    const placement = this.store.placement;
    if (this.store.isMediator) {
      if (!this.active) this.show("joint");
      else this.renderTabs();
    } else if (!this.pinned || this.active === null || placement !== "lobby") {
      this.pinned = false;
      this.show(placement === "lobby" ? "joint" : placement);
    }
    this.renderComposer();
  }

  /** Show one room's lines (a tab click, or the console's room cards). */
  show(room, { byReader = false } = {}) {
    if (byReader) this.pinned = room !== this.store.placement;
    this.active = room;
    this.editing = null;
    this.renderTabs();
    this.render(true);
    this.renderComposer();
    this.renderTyping();
  }

  roomsShown() {
    const rooms = this.store.rooms();
    if (this.store.isMediator) return rooms;
    // a party sees tabs only for rooms they have history in, and their own
    return rooms.filter((room) => room === this.store.placement || this.store.linesIn(room).length > 0);
  }

  renderTabs() {
    const rooms = this.roomsShown();
    const tabs = rooms.map((room) => {
      const selected = room === this.active;
      const here = room === this.store.placement && !this.store.isMediator;
      return h(
        "button",
        {
          type: "button",
          role: "tab",
          class: `room-tab${isCaucus(room) ? " caucus" : " joint"}`,
          "aria-selected": selected ? "true" : "false",
          tabindex: selected ? "0" : "-1",
          dataset: { room },
          onclick: () => this.show(room, { byReader: true }),
          onkeydown: (event) => this.tabKeys(event, rooms, room),
        },
        roomLabel(room, this.store, this.page.parties),
        here ? h("span", { class: "visually-hidden" }, ` (${t("room.tabs.here")})`) : null,
      );
    });
    fill(this.els.tabs, tabs);
    this.els.tabs.hidden = rooms.length < 2;
  }

  tabKeys(event, rooms, room) {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = rooms[(rooms.indexOf(room) + step + rooms.length) % rooms.length];
    this.show(next, { byReader: true });
    this.els.tabs.querySelector(`[data-room="${next}"]`)?.focus();
  }

  /** Reconcile the list with the store, keyed by seq; only changed lines are rebuilt. */
  render(full = false) {
    const list = this.els.list;
    if (full) {
      this.items.clear();
      list.replaceChildren();
    }
    if (!this.active) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const entries = this.store.linesIn(this.active);
    const wanted = new Set();
    let previous = null;
    for (const entry of entries) {
      const node = this.nodeFor(entry);
      if (!node) continue;
      wanted.add(entry.seq);
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (expected !== node) list.insertBefore(node, expected);
      previous = node;
    }
    for (const [seq, item] of this.items) {
      if (!wanted.has(seq)) {
        item.node.remove();
        this.items.delete(seq);
      }
    }
    if (atBottom || full) list.scrollTop = list.scrollHeight;
  }

  nodeFor(entry) {
    const key = [entry.version, this.store.mayChange(entry), this.store.mayRelease(entry), this.editing === entry.seq].join(":");
    const known = this.items.get(entry.seq);
    if (known && known.key === key) return known.node;
    const node = CHAT_KINDS.has(entry.kind) ? this.chatNode(entry) : this.noticeNode(entry);
    if (!node) return null;
    const mount = node.querySelector('[data-mount="translation"]');
    for (const decorate of this.decorators) {
      try {
        decorate(entry, mount, node);
      } catch (error) {
        console.error("line decorator failed", error);
      }
    }
    if (known) known.node.replaceWith(node);
    this.items.set(entry.seq, { node, key });
    return node;
  }

  noticeNode(entry) {
    const text = noticeText(entry, this.store, this.page.parties);
    if (text === null) return null;
    return h("li", { class: "line line-notice", dataset: { seq: entry.seq, kind: entry.kind } }, text);
  }

  chatNode(entry) {
    const store = this.store;
    const mine = store.me && entry.author === store.me.id;
    const author = store.names.get(entry.author);
    const classes = ["line", `line-${entry.kind.replace(".", "-")}`];
    if (mine) classes.push("mine");
    if (author?.kind === "mediator") classes.push("from-mediator");
    if (entry.withdrawn) classes.push("withdrawn");

    const meta = h(
      "div",
      { class: "line-meta" },
      h("span", { class: "line-author" }, personName(entry.author, store, { author: true })),
      " ",
      h("time", { datetime: entry.at }, clock(entry.at)),
      entry.edited && !entry.withdrawn ? h("span", { class: "line-edited" }, ` ${t("room.line.edited")}`) : null,
      entry.kind === "chat.release" ? h("span", { class: "line-tag" }, t("room.line.released")) : null,
      this.isReleased(entry) ? h("span", { class: "line-tag" }, t("room.line.shared_to_joint")) : null,
    );

    let body;
    if (entry.kind === "evidence.share") {
      const c = entry.line.content || {};
      body = h("p", { class: "line-text" }, t("room.line.evidence", { name: c.name || "" }));
    } else if (entry.withdrawn) {
      body = h(
        "p",
        { class: "line-text" },
        h("em", {}, t("room.line.withdrawn")),
        store.isMediator && entry.original ? [" ", h("del", {}, entry.original)] : null,
      );
    } else if (this.editing === entry.seq) {
      body = this.correctionForm(entry);
    } else {
      body = h("p", { class: "line-text", lang: author?.language || null }, entry.text);
    }

    return h(
      "li",
      { class: classes.join(" "), dataset: { seq: entry.seq, kind: entry.kind } },
      meta,
      body,
      // Mount point: the translation feature fills this with the
      // translated text and a "show original" toggle for this line.
      entry.kind === "chat" && !entry.withdrawn
        ? h("div", { class: "line-translation", hidden: true, dataset: { mount: "translation", seq: entry.seq } })
        : null,
      store.isMediator ? this.historyNode(entry) : null,
      this.actionsNode(entry),
    );
  }

  isReleased(entry) {
    if (entry.kind !== "chat" || !isCaucus(entry.room)) return false;
    if (this.store.released.has(entry.seq)) return true;
    return [...this.store.entries.values()].some((other) => other.kind === "chat.release" && other.line.ref === entry.seq);
  }

  historyNode(entry) {
    if (!entry.history.length) return null;
    const versions = [
      h("li", {}, h("span", { class: "muted" }, `${t("room.history.original")} `), entry.original),
      ...entry.history.map((item) =>
        h(
          "li",
          {},
          h("span", { class: "muted" }, `${clock(item.at)} ${t(item.kind === "chat.withdraw" ? "room.history.withdrawn" : "room.history.corrected")} `),
          item.text,
        ),
      ),
    ];
    return h("details", { class: "line-history" }, h("summary", {}, t("room.history.title")), h("ol", {}, versions));
  }

  actionsNode(entry) {
    const buttons = [];
    if (this.store.mayChange(entry) && this.editing !== entry.seq) {
      buttons.push(
        h("button", { type: "button", class: "link", onclick: () => this.startEdit(entry.seq) }, t("room.line.correct")),
        h("button", { type: "button", class: "link", onclick: () => this.withdraw(entry.seq) }, t("room.line.withdraw")),
      );
    }
    if (this.store.mayRelease(entry)) {
      buttons.push(h("button", { type: "button", class: "link", onclick: () => this.release(entry.seq) }, t("room.line.release")));
    }
    return buttons.length ? h("div", { class: "line-actions" }, buttons) : null;
  }

  correctionForm(entry) {
    const id = `correct-${entry.seq}`;
    const area = h("textarea", { id, rows: "2" });
    area.value = entry.text;
    const form = h(
      "form",
      {
        class: "line-correct",
        onsubmit: (event) => {
          event.preventDefault();
          this.correct(entry.seq, area.value);
        },
      },
      h("label", { for: id }, t("room.line.correct_label")),
      area,
      h("button", { type: "submit", class: "button primary" }, t("room.line.save")),
      h("button", { type: "button", class: "button", onclick: () => this.stopEdit() }, t("room.line.cancel")),
    );
    queueMicrotask(() => area.focus());
    return form;
  }

  startEdit(seq) {
    this.editing = seq;
    this.render();
  }

  stopEdit() {
    const seq = this.editing;
    this.editing = null;
    this.render();
    this.els.list.querySelector(`[data-seq="${seq}"] button`)?.focus();
  }

  async run(promise) {
    try {
      return await promise;
    } catch (error) {
      this.showError(errorText(error.code));
      return null;
    }
  }

  async correct(seq, text) {
    if (await this.run(this.connection.send("chat.correct", { seq, text }))) this.stopEdit();
  }

  async withdraw(seq) {
    await this.run(this.connection.send("chat.withdraw", { seq }));
  }

  async release(seq) {
    if (await this.run(this.connection.send("chat.release", { seq }))) {
      this.store.markReleased(seq);
      this.showInfo(t("room.line.released_done"));
    }
  }

  renderTyping() {
    if (!this.active) return;
    const ids = this.store.typingIn(this.active);
    this.els.typing.textContent = ids.length
      ? t("room.typing", { who: ids.map((id) => personName(id, this.store)).join(t("room.list_separator")) })
      : "";
  }

  /** The composer speaks in the shown room: mine, or any room for a mediator. */
  renderComposer() {
    const store = this.store;
    // while reconnecting a message still goes: it waits, then is sent with its id
    const usable = this.connection.status !== "closed";
    const mayTalk = ["party", "representative", "mediator", "interpreter"].includes(store.me?.kind);
    const here = store.isMediator || this.active === store.placement;
    this.els.composer.hidden = !mayTalk || !here || store.placement === "lobby";
    this.els.send.disabled = !usable || this.sending;
    this.els.send.textContent = t(this.sending ? "room.composer.sending" : "room.composer.send");
    this.els.text.setAttribute("maxlength", String(store.limits.max_message_chars));
    this.els.knock.hidden = !(["party", "representative", "interpreter"].includes(store.me?.kind) && isCaucus(store.placement));
    const mayShare = ["party", "representative", "mediator"].includes(store.me?.kind) && this.page.evidence.length > 0;
    this.els.evidenceForm.hidden = !mayShare || !here || store.placement === "lobby";
  }

  bind() {
    const { composer, text, knock, evidenceForm, evidenceSelect } = this.els;
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendChat();
    });
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendChat();
      }
    });
    text.addEventListener("input", () => this.typed());
    knock.addEventListener("click", async () => {
      if (await this.run(this.connection.send("lobby.knock", {}))) this.showInfo(t("room.knock.sent"));
    });
    fill(
      evidenceSelect,
      this.page.evidence.map((item) => h("option", { value: item.id }, item.name)),
    );
    evidenceForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const payload = { evidence_id: Number(evidenceSelect.value) };
      if (this.store.isMediator) payload.room = this.active;
      if (await this.run(this.connection.send("evidence.share", payload))) this.showInfo(t("room.evidence.shared"));
    });
  }

  typed() {
    if (!this.typingSent) {
      this.typingSent = true;
      this.connection.typing(true);
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingTimer);
    if (this.typingSent) this.connection.typing(false);
    this.typingSent = false;
  }

  async sendChat() {
    const box = this.els.text;
    const text = box.value;
    if (!text.trim()) {
      this.showError(errorText("empty_message"));
      return;
    }
    const payload = { text };
    if (this.store.isMediator) payload.room = this.active;
    this.stopTyping();
    this.sending = true;
    this.renderComposer();
    const ack = await this.run(this.connection.send("chat.send", payload));
    this.sending = false;
    this.renderComposer();
    if (ack) {
      if (box.value === text) box.value = "";
      box.focus();
    }
  }
}
