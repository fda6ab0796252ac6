// The interpreter's desk: the machine drafts of the lines to and from their
// party. In review mode a draft waits here until the interpreter approves it
// or releases a correction; in either mode a released translation can be
// corrected, and the correction replaces it for readers.

import { errorText, h } from "../room/dom.js";
import { languageName } from "./lines.js";

const RELEASED_SHOWN = 12;

export class InterpreterDesk {
  constructor({ state, roomApi, element, say }) {
    this.state = state;
    this.roomApi = roomApi;
    this.t = roomApi.t;
    this.say = say;
    this.cards = new Map(); // "ref:target" -> {node, signature}
    this.editing = new Set(); // released translations being corrected
    this.announced = new Set();
    this.waitingList = h("ol", { class: "desk-list", "aria-live": "polite", "aria-relevant": "additions" });
    this.releasedList = h("ol", { class: "desk-list" });
    this.waitingEmpty = h("p", { class: "translation-note" }, this.t("translation.desk.empty"));
    this.releasedEmpty = h("p", { class: "translation-note" }, this.t("translation.desk.none_released"));
    element.append(
      h(
        "section",
        { class: "translation-desk", "aria-labelledby": "desk-title" },
        h("h2", { id: "desk-title" }, this.t("translation.desk.title")),
        h("h3", {}, this.t("translation.desk.waiting")),
        this.waitingEmpty,
        this.waitingList,
        h("h3", {}, this.t("translation.desk.released")),
        this.releasedEmpty,
        this.releasedList,
      ),
    );
    state.on("drafts", () => this.render());
    state.on("line", () => this.render());
  }

  render() {
    const me = this.roomApi.me;
    if (!me) return;
    const items = this.state.desk(me.id);
    const waiting = items.filter((item) => !item.shown);
    const released = items.filter((item) => item.shown).slice(-RELEASED_SHOWN).reverse();
    this.reconcile(this.waitingList, waiting, true);
    this.reconcile(this.releasedList, released, false);
    this.waitingEmpty.hidden = waiting.length > 0;
    this.releasedEmpty.hidden = released.length > 0;
    for (const item of waiting) {
      const key = `${item.ref}:${item.target}:${item.draft.seq}`;
      if (!this.announced.has(key)) {
        this.announced.add(key);
        if (this.announced.size > 1) this.say(this.t("translation.desk.new_draft"));
      }
    }
  }

  reconcile(list, items, pending) {
    const wanted = [];
    for (const item of items) {
      const key = `${item.ref}:${item.target}`;
      const editing = this.editing.has(key);
      const signature = [pending, item.draft.seq, item.shown?.seq ?? 0, editing, item.entry.version].join(":");
      let card = this.cards.get(key);
      if (!card || card.signature !== signature) {
        const node = this.card(item, pending, editing, key);
        if (card) card.node.replaceWith(node);
        card = { node, signature };
        this.cards.set(key, card);
      }
      wanted.push(card.node);
    }
    // keep the nodes (and any half-typed text) of unchanged cards
    const keep = new Set(wanted);
    for (const child of [...list.children]) if (!keep.has(child)) child.remove();
    wanted.forEach((node, index) => {
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
    });
  }

  card(item, pending, editing, key) {
    const t = this.t;
    const { ref, target, draft, shown, entry } = item;
    const content = draft.content;
    const id = `desk-${ref}-${target}`;
    const failed = content.status !== "machine";
    const area = h("textarea", { id, rows: "2", lang: target });
    area.value = shown?.content.text ?? content.text ?? "";
    const heading = h(
      "p",
      {},
      h("span", { class: "muted" }, `#${ref} · ${t("translation.desk.original")}: `),
      h("span", { class: "desk-original", lang: content.source || null }, entry.text),
    );
    const parts = [heading];
    if (failed) {
      const reasonKey = `translation.reason.${content.error}`;
      const reason = t(reasonKey) === reasonKey ? content.error || "" : t(reasonKey);
      parts.push(h("p", { class: "translation-unavailable" }, t("translation.desk.machine_failed", { reason })));
    }
    if (!pending && shown && !editing) {
      parts.push(
        h("p", {}, t("translation.desk.shown", { text: shown.content.text || "" })),
        h("div", { class: "desk-actions" }, h("button", { type: "button", class: "button", onclick: () => this.edit(key, true) }, t("translation.desk.edit"))),
      );
      return h("li", { class: "desk-card", dataset: { ref, target } }, parts);
    }
    const actions = [
      h("button", { type: "submit", class: "button primary" }, t("translation.desk.correct")),
    ];
    if (pending && !failed) {
      actions.unshift(h("button", { type: "button", class: "button", onclick: () => this.approve(ref, target) }, t("translation.desk.approve")));
    }
    if (editing) {
      actions.push(h("button", { type: "button", class: "button", onclick: () => this.edit(key, false) }, t("translation.desk.cancel")));
    }
    parts.push(
      h(
        "form",
        {
          class: "desk-form",
          onsubmit: (event) => {
            event.preventDefault();
            this.correct(ref, target, area.value, key);
          },
        },
        h("label", { for: id }, t("translation.desk.into", { language: languageName(target, t) })),
        area,
        h("div", { class: "desk-actions" }, actions),
      ),
    );
    return h("li", { class: pending ? "desk-card pending" : "desk-card", dataset: { ref, target } }, parts);
  }

  edit(key, on) {
    if (on) this.editing.add(key);
    else this.editing.delete(key);
    this.render();
  }

  async approve(seq, target) {
    try {
      await this.roomApi.send("translation.approve", { seq, target });
      this.say(this.t("translation.desk.approved"));
    } catch (error) {
      this.say(errorText(error.code), true);
    }
  }

  async correct(seq, target, text, key) {
    try {
      await this.roomApi.send("translation.correct", { seq, target, text });
      this.editing.delete(key);
      this.say(this.t("translation.desk.corrected"));
      this.render();
    } catch (error) {
      this.say(errorText(error.code), true);
    }
  }
}
