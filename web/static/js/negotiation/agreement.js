// Agreement page (/case/{ref}/agreement).
//
// Parties sign with a typed full name and an explicit consent box; the
// mediator countersigns with the same form after every party has signed.
// Each signature is sent with the SHA-256 of the version shown on the page,
// so the server refuses it if the agreement changed meanwhile. Staff can
// draw the agreement up from the accepted offer and revise its additional
// terms (which makes a new version and voids every signature).
import { api } from "../app.js";
import { say, sayError } from "./status.js";

const page = document.getElementById("agreement-page");
const status = document.getElementById("agreement-status");
const ref = page?.dataset.ref;
const base = `/api/cases/${encodeURIComponent(ref)}/agreement`;

document.getElementById("generate")?.addEventListener("click", async (event) => {
  event.currentTarget.disabled = true;
  try {
    await api(base, { method: "POST", json: {} });
    window.location.reload();
  } catch (error) {
    event.currentTarget.disabled = false;
    sayError(status, error);
  }
});

const signForm = document.getElementById("sign-form");
signForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("sign-button");
  button.disabled = true;
  const mode = signForm.dataset.mode === "countersign" ? "countersign" : "sign";
  try {
    await api(`${base}/${mode}`, {
      method: "POST",
      json: {
        typed_name: signForm.elements.typed_name.value,
        consent: signForm.elements.consent.checked,
        sha256: page.dataset.sha256,
      },
    });
    window.location.reload();
  } catch (error) {
    button.disabled = false;
    sayError(status, error);
    if (error.field === "typed_name") signForm.elements.typed_name.focus();
  }
});

const reviseForm = document.getElementById("revise-form");
reviseForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await api(base, { method: "PUT", json: { additional: reviseForm.elements.additional.value } });
    window.location.reload();
  } catch (error) {
    sayError(status, error);
  }
});
