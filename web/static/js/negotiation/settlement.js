/**
 * Settlement inside the live room: the agreement, its signing, the
 * mediator's drafting, revision, countersignature and closure dialog, and
 * after closure the feedback survey, all without leaving the room.
 *
 *   import { mount } from "/static/js/negotiation/settlement.js";
 *   const settlement = mount(element, api);   // api as adapted by room.js
 *
 * Talks to the HTTP API with the page's own credentials:
 *   POST /api/cases/{ref}/agreement          draw up from the accepted offer
 *   PUT  /api/cases/{ref}/agreement          revise (voids every signature)
 *   POST /api/cases/{ref}/closure            close with an outcome
 *   POST /api/cases/{ref}/feedback           the anonymous survey
 * and mounts signing.js for the text, the signatures and the signing form.
 * The server announces every step to the room as a notice line
 * (agreement.drafted, .revised, .signed, .completed, case.closed); on each,
 * the panel reloads the agreement, so every seat sees the change live. A
 * revision that voided signatures is shown as an alert.
 */
import { api as http } from "../app.js";
import { t } from "../room/dom.js";
import { el, field } from "./dom.js";
import { mount as mountSigning } from "./signing.js";

const OUTCOMES = ["settled", "partly_settled", "not_settled", "withdrawn", "referred"];
const QUESTIONS = ["satisfaction", "fairness", "ease_of_use"];

function errorText(error) {
  const key = `negotiation.error.${error?.code}`;
  const specific = t(key);
  return t("negotiation.error.generic", { message: specific !== key ? specific : error?.message || error?.code });
}

let ids = 0;
function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}

export function mount(element, api) {
  const me = api.me || {};
  const isMediator = me.role === "mediator";
  const base = `/api/cases/${encodeURIComponent(api.caseRef)}`;
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const voided = el("p", { class: "warning agreement-voided", role: "alert", hidden: true });
  const signingBox = el("div", { class: "agreement-signing" });
  const tools = el("div", { class: "mediator-tools" });
  const closure = el("div", { class: "closure" });
  const feedback = el("div", { class: "feedback" });
  // signing.js heads the section with the agreement's title
  element.replaceChildren(el("section", { class: "negotiation settlement" },
    status, voided, signingBox, tools, closure, feedback));

  const signing = mountSigning(signingBox, api, { load: Boolean(api.hasAgreement) });
  const state = { closed: api.caseStatus === "closed", outcome: api.closureOutcome || null };
  const say = (text) => {
    status.textContent = text;
  };

  async function call(method, path, json) {
    try {
      return await http(`${base}${path}`, { method, json });
    } catch (error) {
      say(errorText(error));
      throw error;
    }
  }

  function draftButton() {
    return el("button", {
      type: "button", class: "button", "data-action": "draft",
      text: t("negotiation.agreement.generate"),
      onclick: async () => {
        await call("POST", "/agreement", {}).catch(() => null);
        await signing.refresh();
      },
    });
  }

  function reviseForm() {
    const [row, input] = field(t("negotiation.agreement.additional"), { rows: 3, maxlength: 4000 }, "textarea");
    const form = el("form", { class: "card revise" }, row,
      el("button", { type: "submit", class: "button", text: t("negotiation.agreement.revise") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const done = await call("PUT", "/agreement", { additional: input.value }).catch(() => null);
      if (done) form.reset();
      await signing.refresh();
    });
    return form;
  }

  function closureForm() {
    const title = uid("closure-title");
    const radios = OUTCOMES.map((outcome) => {
      const id = uid(`outcome-${outcome}`);
      return el("p", { class: "check" },
        el("input", { type: "radio", name: "outcome", id, value: outcome, required: true }),
        el("label", { for: id, text: t(`negotiation.outcome.${outcome}`) }));
    });
    const [reasonRow, reason] = field(t("negotiation.closure.reason"), { rows: 2, maxlength: 4000 }, "textarea");
    const [reportRow, report] = field(t("negotiation.closure.report"), { rows: 3, maxlength: 20000 }, "textarea");
    const confirmId = uid("closure-confirm");
    const confirm = el("input", { type: "checkbox", id: confirmId, required: true });
    const form = el("form", { class: "card closure-form", role: "group", "aria-labelledby": title },
      el("h3", { id: title, text: t("negotiation.closure.title") }),
      el("fieldset", {}, el("legend", { text: t("negotiation.closure.outcome") }), radios),
      reasonRow, reportRow,
      el("p", { class: "check" }, confirm, el("label", { for: confirmId, text: t("negotiation.closure.confirm") })),
      el("button", { type: "submit", class: "button primary", text: t("negotiation.closure.submit") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const outcome = form.querySelector('input[name="outcome"]:checked')?.value;
      if (!outcome || !confirm.checked) return;
      const done = await call("POST", "/closure", { outcome, reason: reason.value, report: report.value })
        .catch(() => null);
      if (done) closed(outcome);
    });
    const wrapper = el("details", { class: "closure-dialog" },
      el("summary", { text: t("negotiation.closure.title") }), form);
    return wrapper;
  }

  function feedbackForm() {
    const sets = QUESTIONS.map((question) => el("fieldset", { class: "scale" },
      el("legend", {}, t(`negotiation.feedback.${question}`), " ",
        el("small", { text: `(${t("negotiation.feedback.scale")})` })),
      [1, 2, 3, 4, 5].map((value) => {
        const id = uid(`${question}-${value}`);
        return el("span", {},
          el("input", { type: "radio", name: question, id, value, required: true }),
          el("label", { for: id, text: String(value) }));
      })));
    const againId = uid("again");
    const again = el("input", { type: "checkbox", id: againId });
    const [commentRow, comment] = field(t("negotiation.feedback.comment"), { rows: 3, maxlength: 4000 }, "textarea");
    const form = el("form", { class: "card feedback-form" },
      el("h3", { text: t("negotiation.feedback.title") }),
      el("p", { text: t("negotiation.feedback.lead") }), sets,
      el("p", { class: "check" }, again, el("label", { for: againId, text: t("negotiation.feedback.would_use_again") })),
      commentRow,
      el("button", { type: "submit", class: "button primary", text: t("negotiation.feedback.submit") }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = (name) => Number(form.querySelector(`input[name="${name}"]:checked`)?.value || 0);
      try {
        await http(`${base}/feedback`, {
          method: "POST",
          json: {
            satisfaction: answer("satisfaction"),
            fairness: answer("fairness"),
            ease_of_use: answer("ease_of_use"),
            would_use_again: again.checked,
            comment: comment.value,
          },
        });
        form.replaceWith(el("p", { class: "ok", text: t("negotiation.feedback.thanks") }));
      } catch (error) {
        if (error.code === "feedback_already_given") {
          form.replaceWith(el("p", { class: "ok", text: t("negotiation.feedback.thanks") }));
        } else {
          say(errorText(error));
        }
      }
    });
    return form;
  }

  function closed(outcome) {
    if (state.closed && tools.hidden) return;
    state.closed = true;
    state.outcome = outcome || state.outcome;
    tools.hidden = true;
    closure.replaceChildren(el("p", { class: "ok case-closed",
      text: t("negotiation.closure.already", { outcome: t(`negotiation.outcome.${state.outcome}`) }) }));
    // parties, the mediator and interpreters are asked how it went
    if (["party", "mediator", "interpreter"].includes(me.role)) feedback.replaceChildren(feedbackForm());
  }

  if (isMediator) tools.replaceChildren(draftButton(), reviseForm(), closureForm());
  if (state.closed) closed(state.outcome);

  // a replay brings many notices at once: reload the agreement once for them
  let pending = null;
  const reload = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      signing.refresh();
    }, 150);
  };
  api.on("agreement.drafted", (c) => {
    voided.hidden = true;
    say(t("negotiation.notice.agreement_drafted", { version: c.version }));
    reload();
  });
  api.on("agreement.revised", (c) => {
    if (c.voided_signatures) {
      voided.textContent = t("negotiation.notice.agreement_voided", { version: c.version, count: c.voided_signatures });
      voided.hidden = false;
    } else {
      say(t("negotiation.notice.agreement_revised", { version: c.version }));
    }
    reload();
  });
  api.on("agreement.signed", (c) => {
    say(t("negotiation.notice.agreement_signed", { who: c.name, version: c.version }));
    reload();
  });
  api.on("agreement.completed", () => {
    voided.hidden = true;
    say(t("negotiation.agreement.completed"));
    reload();
  });
  api.on("case.closed", (c) => closed(c.outcome));
  return { signing, state };
}
