// Closure dialog (/case/{ref}/closure, mediator or case officer). "Settled"
// is offered only with a completed agreement; the server checks it again,
// and requires a reason for "not settled" and a report for "referred".
import { api, t } from "../app.js";
import { say, sayError } from "./status.js";

const form = document.getElementById("closure-form");
const status = document.getElementById("closure-status");

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("closure-submit");
  button.disabled = true;
  const outcome = form.elements.outcome.value;
  try {
    await api(`/api/cases/${encodeURIComponent(form.dataset.ref)}/closure`, {
      method: "POST",
      json: { outcome, reason: form.elements.reason.value, report: form.elements.report.value },
    });
    form.hidden = true;
    say(status, t("negotiation.closure.closed", { outcome: t(`negotiation.outcome.${outcome}`) }));
  } catch (error) {
    button.disabled = false;
    sayError(status, error);
  }
});
