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

function markKind(content) {
  if (content.status === "interpreter") return "interpreter";
  return content.approved_by ? "approved" : "machine";
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
    // the node may not be in the list yet (chat.js decorates it first)
    const item = this.mounted.get(seq);
    if (!item) return;
    const { entry, mount, node } = item;
    const me = this.roomApi.me;
    const language = this.state.language;
    const source = modelCode(entry.line.content?.language || "");
    node.classList.remove("translated", "original-shown");
    mount.replaceChildren();
    mount.hidden = true;
    if (entry.withdrawn || !language) return;
    if (me && entry.author === me.id) {
      this.renderOwn(seq, mount);
      return;
    }
    const shown = source === language ? null : this.state.shown(seq, language);
    if (!shown) return;
    const t = this.t;
    const content = shown.content;
    mount.hidden = false;
    mount.dataset.status = content.status;
    if (content.status === "unavailable") {
      fill(mount, h("p", { class: "translation-unavailable", role: "note" }, this.unavailableText(content)));
      return;
    }
    const kind = markKind(content);
    const open = this.originals.has(seq);
    node.classList.add("translated");
    if (open) node.classList.add("original-shown");
    node
      .querySelector(".line-text")
      ?.setAttribute("data-original-label", t("translation.original_in", { language: languageName(source, t) }));
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

  /** Under my own line: what the others read, so I can check how I was rendered. */
  renderOwn(seq, mount) {
    const t = this.t;
    const items = this.state
      .targets(seq)
      .filter((target) => target !== this.state.language)
      .map((target) => this.state.shown(seq, target))
      .filter(Boolean);
    if (!items.length) return;
    mount.hidden = false;
    mount.dataset.status = "own";
    fill(
      mount,
      items.map(({ content }) => {
        const kind = markKind(content);
        const label = t("translation.others_read", { language: languageName(content.target, t) });
        return h(
          "p",
          { class: "translation-own", dataset: { target: content.target, status: content.status } },
          h("span", { class: "muted" }, `${label} `),
          content.status === "unavailable"
            ? h("span", { class: "translation-unavailable" }, this.unavailableText(content))
            : [
                h("span", { class: "translation-text", lang: content.target }, content.text),
                " ",
                h("span", { class: `translation-mark mark-${kind}`, dataset: { kind } }, t(`translation.mark.${kind}`)),
              ],
        );
      }),
    );
  }

  unavailableText(content) {
    const reasonKey = `translation.reason.${content.error}`;
    const reason = this.t(reasonKey);
    return reason === reasonKey
      ? this.t("translation.unavailable")
      : this.t("translation.unavailable.detail", { reason });
  }
}
