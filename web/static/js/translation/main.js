// Translation on the room page (docs/translation.md): installed by
// room/main.js when the server translates. Wires the translation state to
// the room's lines, decorates every chat line, and fills the
// data-mount="translation-desk" section: the language selector, the
// mediator's mode switch and languages, the interpreter's desk.

import { h } from "../room/dom.js";
import { InterpreterDesk } from "./desk.js";
import { LineTranslations } from "./lines.js";
import { annotateOffers } from "./offers.js";
import { languageSelector, modeSwitch, peopleLanguages, reviewNote } from "./controls.js";
import { TranslationState } from "./state.js";

/** Set up translation for this page; returns the state (for tests). */
export function installTranslation({ roomApi, decorateLines, mountFeature, page }) {
  const state = new TranslationState();
  roomApi.on("state", (s) => state.setLanguage(s.you?.language));
  roomApi.on("translation", (entry) => state.addUpdate(entry));
  roomApi.on("translation.draft", (entry) => state.addDraft(entry));
  roomApi.on("translation.mode", (entry) => state.setMode(entry));
  roomApi.on("translation.language", (entry) => {
    if (roomApi.me && entry.line.content?.participant === roomApi.me.id) state.setLanguage(entry.line.content.language);
  });

  const lines = new LineTranslations({ state, roomApi });
  decorateLines((entry, mount, node) => lines.decorate(entry, mount, node));
  state.on("line", (seq) => lines.render(seq));
  state.on("language", () => lines.renderAll());

  mountFeature("translation-desk", (element) => {
    const status = h("p", { class: "translation-note", role: "status", "aria-live": "polite" });
    const say = (text, isError = false) => {
      status.textContent = text;
      status.classList.toggle("error", isError);
    };
    element.append(languageSelector({ state, roomApi, languages: page.translation?.languages || [], say }), status);
    let shown = null;
    const byRole = () => {
      const kind = roomApi.me?.kind;
      if (!kind || shown === kind) return;
      shown = kind;
      if (kind === "mediator") {
        element.append(modeSwitch({ state, roomApi, say }), peopleLanguages({ roomApi }));
      } else if (kind === "interpreter") {
        new InterpreterDesk({ state, roomApi, element, say }).render();
      } else {
        element.append(reviewNote({ state, roomApi }));
      }
    };
    roomApi.on("state", byRole);
    byRole();
  });
  annotateOffers({ state, roomApi });
  return state;
}
