/**
 * Package builder for multi-issue negotiation in the live room.
 *
 *   import { mount } from "/static/js/negotiation/packages.js";
 *   mount(element, roomApi);
 *
 * `roomApi` as in offers.js. The mediator lists the issues and their options
 * (`package.issues` with `{issues: [{key, options: [...]}]}`), asks for the
 * fairest package (`package.suggest`; the answer arrives as a
 * mediator-only `package.suggested` line with the choice and each party's
 * satisfaction) and proposes it as an ordinary offer (`package.propose` with
 * `{choice}`). Each party weights every issue and rates every option from 0
 * to 10 (`package.rate` with `{ratings: {issue: {weight, options: {option:
 * rating}}}}`); the ratings are seen by that party and the mediator only.
 */
import { t } from "../app.js";
import { el, field } from "./dom.js";

export function mount(element, roomApi) {
  const me = roomApi.me || {};
  const isMediator = me.role === "mediator" && me.partyId == null;
  const state = { issues: [], suggestion: null };
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const panel = el("div");
  element.replaceChildren(el("section", { class: "negotiation packages" },
    el("h2", { text: t("negotiation.package.title") }), status, panel));
  const fail = (error) => {
    status.textContent = t("negotiation.error.generic", { message: error.message || error.code });
  };

  function issueEditor() {
    const rows = el("div");
    const addRow = (key = "", options = []) => {
      const [keyRow] = field(t("negotiation.package.issue"), { value: key, maxlength: 120, "data-key": "" });
      const [optRow, opts] = field(t("negotiation.package.options"), { rows: 3, "data-options": "" }, "textarea");
      opts.value = options.join("\n");
      rows.append(el("fieldset", { class: "card" }, keyRow, optRow));
    };
    (state.issues.length ? state.issues : [{ key: "", options: [] }])
      .forEach((issue) => addRow(issue.key, issue.options));
    const form = el("form", {}, rows,
      el("button", { type: "button", class: "button", text: t("negotiation.package.add_issue"), onclick: () => addRow() }),
      el("button", { type: "submit", class: "button primary", text: t("negotiation.package.save_issues") }),
      el("button", { type: "button", class: "button", text: t("negotiation.package.suggest"),
        onclick: () => roomApi.send("package.suggest", {}).catch(fail) }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const issues = [...rows.querySelectorAll("fieldset")].map((set) => ({
        key: set.querySelector("[data-key]").value.trim(),
        options: set.querySelector("[data-options]").value.split("\n").map((o) => o.trim()).filter(Boolean),
      })).filter((issue) => issue.key);
      roomApi.send("package.issues", { issues }).catch(fail);
    });
    return form;
  }

  function ratingForm() {
    const inputs = [];
    const sets = state.issues.map((issue) => {
      const [weightRow, weight] = field(t("negotiation.package.weight"), { type: "number", min: 0, max: 10, value: 5 });
      const options = issue.options.map((option) => {
        const [row, input] = field(t("negotiation.package.rating", { option }), { type: "number", min: 0, max: 10, value: 5 });
        inputs.push([issue.key, option, input]);
        return row;
      });
      inputs.push([issue.key, null, weight]);
      return el("fieldset", { class: "card" }, el("legend", { text: issue.key }), weightRow, options);
    });
    const form = el("form", {}, sets,
      el("button", { type: "submit", class: "button primary", text: t("negotiation.package.save_ratings") }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const ratings = {};
      for (const [key, option, input] of inputs) {
        ratings[key] ||= { weight: 0, options: {} };
        if (option === null) ratings[key].weight = Number(input.value);
        else ratings[key].options[option] = Number(input.value);
      }
      roomApi.send("package.rate", { ratings }).catch(fail);
    });
    return form;
  }

  function suggestionView() {
    const s = state.suggestion;
    if (!s) return null;
    return el("div", { class: "card" },
      el("ul", {}, Object.entries(s.choice).map(([k, v]) => el("li", { text: `${k}: ${v}` }))),
      el("p", { text: t("negotiation.package.lowest", { value: s.minimum }) }),
      el("button", { type: "button", class: "button primary", text: t("negotiation.package.propose"),
        onclick: () => roomApi.send("package.propose", { choice: s.choice }).catch(fail) }));
  }

  function render() {
    if (isMediator) panel.replaceChildren(issueEditor(), suggestionView() || "");
    else if (me.partyId && state.issues.length) panel.replaceChildren(ratingForm());
    else panel.replaceChildren();
  }

  roomApi.on("package.issues", (c) => { state.issues = c.issues; state.suggestion = null; render(); });
  roomApi.on("package.suggested", (c) => { state.suggestion = c; render(); });
  const partyName = (id) => (roomApi.parties || []).find((p) => p.id === id)?.name ?? `#${id}`;
  roomApi.on("package.rated", (c) => { status.textContent = t("negotiation.package.rated", { party: partyName(c.party_id) }); });
  roomApi.on("package.rating_saved", () => { status.textContent = t("negotiation.package.save_ratings"); });
  render();
  return { state };
}
