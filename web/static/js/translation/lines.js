// Translated text on every chat line: the translation in my reading language
// over the original, marked machine or interpreter, with "show original";
// or a visible "translation unavailable". Runs as a decorateLines() hook
// (docs/room-web.md): chat.js rebuilds a line's node when the line changes,
// and the hook refills the node's data-mount="translation" element.

import { h, fill } from "../room/dom.js";
import { modelCode } from "./state.js";

export function languageName(code, t) {
  const key = `translation.language.name.${code}`;
  const name = t(key);
  return name === key ? code : name;
}

export class LineTranslations {
  constructor({ state, roomApi }) {
    this.state = state;
    this.roomApi = roomApi;
    this.t = roomApi.t;
    this.mounted = new Map(); // seq -> {entry, mount, node}
    this.originals = new Set(); // seqs whose original the reader asked to see
  }

  /** The decorateLines() hook: fn(entry, mountElement, lineElement). */
  decorate(entry, mount, node) {
    if (entry.kind !== "chat" && entry.kind !== "chat.release") return;
    let target = mount;
    if (!target) {
      // a line released from a caucus has no mount of its own: add one
      target = h("div", { class: "line-translation", hidden: true, dataset: { mount: "translation", seq: entry.seq } });
      node.append(target);
    }
    this.state.rememberLine(entry);
    this.mounted.set(entry.seq, { entry, mount: target, node });
    this.render(entry.seq);
  }

  renderAll() {
    for (const seq of this.mounted.keys()) this.render(seq);
  }

  render(seq) {
    const item = this.mounted.get(seq);
    if (!item || !item.node.isConnected) {
      if (item) this.mounted.delete(seq);
      return;
    }
    const { entry, mount, node } = item;
    const me = this.roomApi.me;
    const language = this.state.language;
    const source = modelCode(entry.line.content?.language || "");
    const shown = entry.withdrawn || (me && entry.author === me.id) || !language || source === language
      ? null
      : this.state.shown(seq, language);
    node.classList.remove("translated", "original-shown");
    const original = node.querySelector(".line-text");
    if (!shown) {
      mount.hidden = true;
      mount.replaceChildren();
      return;
    }
    const t = this.t;
    const content = shown.content;
    mount.hidden = false;
    mount.dataset.status = content.status;
    if (content.status === "unavailable") {
      const reasonKey = `translation.reason.${content.error}`;
      const reason = t(reasonKey);
      fill(
        mount,
        h(
          "p",
          { class: "translation-unavailable", role: "note" },
          reason === reasonKey ? t("translation.unavailable") : t("translation.unavailable.detail", { reason }),
        ),
      );
      return;
    }
    const kind = content.status === "interpreter" ? "interpreter" : content.approved_by ? "approved" : "machine";
    const open = this.originals.has(seq);
    node.classList.add("translated");
    if (open) node.classList.add("original-shown");
    original?.setAttribute("data-original-label", t("translation.original_in", { language: languageName(source, t) }));
    const toggle = h(
      "button",
      {
        type: "button",
        class: "link translation-toggle",
        "aria-expanded": open ? "true" : "false",
        onclick: () => {
          if (this.originals.has(seq)) this.originals.delete(seq);
          else this.originals.add(seq);
          this.render(seq);
        },
      },
      t(open ? "translation.hide_original" : "translation.show_original"),
    );
    fill(
      mount,
      h("p", { class: "translation-text", lang: content.target }, content.text),
      h(
        "p",
        { class: "translation-meta" },
        h("span", { class: `translation-mark mark-${kind}`, dataset: { kind } }, t(`translation.mark.${kind}`)),
        " ",
        toggle,
      ),
    );
  }
}
