// The participants list: who is in my room (or, for a mediator, everyone),
// online or not, typing, muted.

import { fill, h, t } from "./dom.js";
import { roleLabel, roomLabel } from "./labels.js";

export class PeopleView {
  constructor({ store, list, page }) {
    this.store = store;
    this.list = list;
    this.page = page;
    store.on("roster", () => this.render());
    store.on("typing", () => this.render());
    store.on("state", () => this.render());
  }

  render() {
    const store = this.store;
    const people = store.roster?.people || [];
    const typing = new Set([...store.typing.keys()]);
    const items = people.map((person) => {
      const me = store.me && person.id === store.me.id;
      const states = [
        person.online ? t("room.people.online") : t("room.people.offline"),
        typing.has(person.id) ? t("room.people.typing") : null,
        person.muted ? t("room.people.muted") : null,
        store.isMediator && person.placement ? roomLabel(person.placement, store, this.page.parties) : null,
      ].filter(Boolean);
      return h(
        "li",
        { class: `person${person.online ? " online" : ""}`, dataset: { participant: person.id } },
        h("span", { class: "presence", "aria-hidden": "true" }),
        h("span", { class: "person-name" }, person.name, me ? ` (${t("room.you")})` : ""),
        " ",
        h("span", { class: "person-role muted" }, roleLabel(person, this.page.parties)),
        h("span", { class: "person-state muted" }, ` · ${states.join(" · ")}`),
      );
    });
    if (!items.length) items.push(h("li", { class: "muted" }, t("room.people.none")));
    fill(this.list, items);
  }
}
