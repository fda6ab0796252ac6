// Case work in the browser: staff sign-in, screening, grading, assignment,
// evidence verification, party links; and the claimant's answer to a request
// for information. Every action goes through the JSON API with api().
import { api, ApiError, t } from "./app.js";

// the catalogue's wording for a known error code, else the server's message
function describe(error) {
  if (!(error instanceof ApiError)) return t("casework.js.failed");
  const key = `casework.js.error.${error.code}`;
  const text = t(key);
  return text === key ? error.message : text;
}

function showError(node, error) {
  if (node) node.textContent = describe(error);
}

function announce(message) {
  const box = document.getElementById("action-message");
  if (!box) return;
  box.hidden = false;
  box.textContent = message;
}

function busy(form, on) {
  for (const button of form.querySelectorAll("button")) button.disabled = on;
}

// which submit button was pressed (SubmitEvent.submitter, with a fallback)
function submitter(event) {
  return event.submitter || document.activeElement;
}

const loginForm = document.getElementById("login-form");
if (loginForm) {
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("login-error");
    error.textContent = "";
    busy(loginForm, true);
    try {
      await api("/api/auth/login", {
        method: "POST",
        json: {
          email: loginForm.elements.email.value.trim(),
          password: loginForm.elements.password.value,
        },
      });
      window.location.assign("/staff");
    } catch (err) {
      if (err instanceof ApiError && err.field) {
        const input = loginForm.elements[err.field];
        if (input) input.setAttribute("aria-invalid", "true");
      }
      showError(error, err);
      busy(loginForm, false);
    }
  });
}

const signout = document.getElementById("signout");
if (signout) {
  signout.addEventListener("click", async () => {
    try {
      await api("/api/auth/logout", { method: "POST" });
    } finally {
      window.location.assign("/staff/login");
    }
  });
}

const root = document.getElementById("case-root");
const ref = root ? root.dataset.ref : null;

async function act(form, errorNode, path, json, done) {
  if (errorNode) errorNode.textContent = "";
  busy(form, true);
  try {
    await api(path, { method: "POST", json });
    announce(done);
    window.location.reload();
  } catch (err) {
    if (err instanceof ApiError && err.field && form.elements[err.field]) {
      form.elements[err.field].setAttribute("aria-invalid", "true");
    }
    showError(errorNode, err);
    busy(form, false);
  }
}

const screening = document.getElementById("screening-form");
if (screening) {
  screening.addEventListener("submit", (event) => {
    event.preventDefault();
    const decision = submitter(event).dataset.decision;
    const reason = screening.elements.reason.value.trim();
    const error = document.getElementById("screening-error");
    if (decision !== "accept" && !reason) {
      screening.elements.reason.setAttribute("aria-invalid", "true");
      error.textContent = t("casework.js.reason_required");
      screening.elements.reason.focus();
      return;
    }
    act(screening, error, `/api/cases/${ref}/screening`,
      { decision, reason: reason || null }, t("casework.js.saved"));
  });
}

const classification = document.getElementById("classification-form");
if (classification) {
  classification.addEventListener("submit", (event) => {
    event.preventDefault();
    const f = classification.elements;
    act(classification, document.getElementById("classification-error"),
      `/api/cases/${ref}/classification`,
      { category: f.category.value.trim(), priority: f.priority.value, complexity: f.complexity.value },
      t("casework.js.saved"));
  });
}

const assignment = document.getElementById("assignment-form");
if (assignment) {
  assignment.addEventListener("submit", (event) => {
    event.preventDefault();
    act(assignment, document.getElementById("assignment-error"),
      `/api/cases/${ref}/assignment`,
      {
        mediator_id: Number(assignment.elements.mediator_id.value),
        interpreter_ids: [...assignment.querySelectorAll("input[name=interpreter_ids]:checked")]
          .map((box) => Number(box.value)),
      },
      t("casework.js.saved"));
  });
}

for (const form of document.querySelectorAll("form.verify-form")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const status = submitter(event).dataset.status;
    act(form, form.querySelector(".field-error"),
      `/api/cases/${ref}/evidence/${form.dataset.evidenceId}/verification`,
      { status, note: form.elements.note.value.trim() || null },
      t("casework.js.saved"));
  });
}

for (const button of document.querySelectorAll("button.revoke")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(t("casework.js.confirm_revoke"))) return;
    button.disabled = true;
    try {
      const link = await api(
        `/api/cases/${ref}/parties/${button.dataset.partyId}/links/revoke`,
        { method: "POST" });
      document.getElementById(`link-${link.party_id}`).value = link.link;
      announce(t("casework.js.revoked"));
    } catch (err) {
      announce(describe(err));
    } finally {
      button.disabled = false;
    }
  });
}

const information = document.getElementById("information-form");
if (information) {
  information.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = information.elements.information.value.trim();
    const error = document.getElementById("information-error");
    if (!text) {
      error.textContent = t("casework.js.information_required");
      return;
    }
    act(information, error, `/api/cases/${ref}/information`,
      { information: text }, t("casework.js.sent"));
  });
}

// open a mediation session now (and go to its console) or schedule one
const sessionForm = document.getElementById("session-form");
if (sessionForm) {
  sessionForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const openNow = submitter(event).name === "open";
    const error = document.getElementById("session-error");
    error.textContent = "";
    const when = sessionForm.elements.scheduled_at.value;
    if (!openNow && !when) {
      error.textContent = t("casework.js.session_when_required");
      return;
    }
    busy(sessionForm, true);
    try {
      const created = await api(`/api/cases/${sessionForm.dataset.caseId}/sessions`, {
        method: "POST",
        json: {
          title: sessionForm.elements.title.value.trim(),
          scheduled_at: when ? new Date(when).toISOString() : null,
          open: openNow,
        },
      });
      if (openNow) window.location.assign(`/room/${created.id}/console`);
      else window.location.reload();
    } catch (err) {
      showError(error, err);
      busy(sessionForm, false);
    }
  });
}
