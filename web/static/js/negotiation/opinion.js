// Opinion editor (/case/{ref}/opinion, staff only): save the draft, then
// issue it to the parties as a document of the case.
import { api, t } from "../app.js";
import { say, sayError } from "./status.js";

const form = document.getElementById("opinion-form");
const status = document.getElementById("opinion-status");
const url = `/api/cases/${encodeURIComponent(form?.dataset.ref)}/opinion`;

function fields() {
  return {
    language: form.elements.language.value,
    facts: form.elements.facts.value,
    analysis: form.elements.analysis.value,
    recommendation: form.elements.recommendation.value,
  };
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api(url, { method: "PUT", json: fields() });
    say(status, t("negotiation.opinion.saved"));
  } catch (error) {
    sayError(status, error);
  }
});

document.getElementById("opinion-issue")?.addEventListener("click", async () => {
  try {
    await api(url, { method: "PUT", json: fields() });
    await api(`${url}/issue`, { method: "POST" });
    say(status, t("negotiation.opinion.issued"));
    window.setTimeout(() => window.location.reload(), 600);
  } catch (error) {
    sayError(status, error);
  }
});
