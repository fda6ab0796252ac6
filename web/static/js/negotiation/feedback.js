// Feedback page (/case/{ref}/feedback, after closure): the anonymous survey
// and, for a settled case, the party's confirmation that a payment arrived.
import { api, t } from "../app.js";
import { say, sayError } from "./status.js";

const form = document.getElementById("feedback-form");
const status = document.getElementById("feedback-status");

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = (name) => Number(form.elements[name].value);
  try {
    await api(`/api/cases/${encodeURIComponent(form.dataset.ref)}/feedback`, {
      method: "POST",
      json: {
        satisfaction: value("satisfaction"),
        fairness: value("fairness"),
        ease_of_use: value("ease_of_use"),
        would_use_again: form.elements.would_use_again.checked,
        comment: form.elements.comment.value,
      },
    });
    form.hidden = true;
    say(status, t("negotiation.feedback.thanks"));
  } catch (error) {
    sayError(status, error);
  }
});

const compliance = document.getElementById("compliance-form");
compliance?.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api(`/api/cases/${encodeURIComponent(compliance.dataset.ref)}/compliance`, {
      method: "POST",
      json: { note: compliance.elements.note.value },
    });
    compliance.hidden = true;
    say(status, t("negotiation.compliance.done"));
  } catch (error) {
    sayError(status, error);
  }
});
