// The translation controls: my reading language (everyone), the release
// mode switch and everyone's reading language (the mediator), and a note for
// readers while the interpreter reviews before release.

import { errorText, fill, h } from "../room/dom.js";
import { languageName } from "./lines.js";

let counter = 0;

/** The language selector: the installed languages plus my own. */
export function languageSelector({ state, roomApi, languages, say }) {
  const t = roomApi.t;
  const id = `translation-language-${(counter += 1)}`;
  const select = h("select", { id, name: "language" });
  const options = () => {
    const codes = new Set(languages);
    if (state.language) codes.add(state.language);
    fill(
      select,
      [...codes].sort().map((code) => h("option", { value: code, selected: code === state.language }, languageName(code, t))),
    );
  };
  options();
  state.on("language", options);
  select.addEventListener("change", async () => {
    const code = select.value;
    try {
      await roomApi.send("translation.language", { language: code });
      state.setLanguage(code);
      say(t("translation.language.saved", { language: languageName(code, t) }));
    } catch (error) {
      say(errorText(error.code), true);
      options();
    }
  });
  return h("div", { class: "translation-language" }, h("label", { for: id }, t("translation.language.label")), select);
}

/** The mediator's choice between review before release and correct after. */
export function modeSwitch({ state, roomApi, say }) {
  const t = roomApi.t;
  const name = `translation-mode-${(counter += 1)}`;
  const radios = ["review_before_release", "correct_after"].map((mode) =>
    h("input", { type: "radio", name, value: mode, id: `${name}-${mode}` }),
  );
  const sync = () => radios.forEach((radio) => (radio.checked = radio.value === state.mode));
  sync();
  state.on("mode", sync);
  for (const radio of radios) {
    radio.addEventListener("change", async () => {
      if (!radio.checked) return;
      try {
        await roomApi.send("translation.mode", { mode: radio.value });
        say(t("translation.mode.saved"));
      } catch (error) {
        say(errorText(error.code), true);
        sync();
      }
    });
  }
  return h(
    "div",
    { class: "translation-mode" },
    h(
      "fieldset",
      {},
      h("legend", {}, t("translation.mode.legend")),
      radios.map((radio) => h("label", { for: radio.id }, radio, t(`translation.mode.${radio.value}`))),
    ),
  );
}

/** Everyone's reading language, from the roster (the mediator's view). */
export function peopleLanguages({ roomApi }) {
  const t = roomApi.t;
  const list = h("ul", { class: "translation-people" });
  roomApi.on("roster", (roster) => {
    fill(
      list,
      (roster.people || []).map((person) =>
        h(
          "li",
          { dataset: { participant: person.id, language: person.language } },
          t("translation.people.entry", { name: person.name, language: person.language }),
        ),
      ),
    );
  });
  return h("div", {}, h("h3", {}, t("translation.people.title")), list);
}

/** For readers: while the interpreter reviews, translations come after them. */
export function reviewNote({ state, roomApi }) {
  const note = h("p", { class: "translation-note translation-review", "aria-live": "polite" }, roomApi.t("translation.mode.current_review"));
  const sync = () => (note.hidden = state.mode !== "review_before_release");
  sync();
  state.on("mode", sync);
  return note;
}
