// The application form: builds the filing, shows the API's errors next to
// their fields, then uploads the chosen files with the claimant's new link.

import { ApiError, api, t } from "./app.js";
import { uploadFile } from "./upload.js";

const form = document.getElementById("filing-form");
const respondents = document.getElementById("respondents");
const fileInput = document.getElementById("evidence-files");
const evidenceList = document.getElementById("evidence-list");
const summary = document.getElementById("form-errors");
const submit = document.getElementById("submit-filing");

// -- respondents ---------------------------------------------------------------

function renumberRespondents() {
  respondents.querySelectorAll(".respondent").forEach((block, index) => {
    const old = block.dataset.index;
    block.dataset.index = String(index);
    block.querySelector(".respondent-title").textContent = t("intake.respondent.n", { n: index + 1 });
    if (old === String(index)) return;
    for (const node of block.querySelectorAll("[id],[for],[data-path],[data-error-for],[aria-describedby]")) {
      for (const attr of ["id", "for", "data-path", "data-error-for", "aria-describedby"]) {
        const value = node.getAttribute(attr);
        if (value) node.setAttribute(attr, value.replace(/respondents\.(\d+|__i__)/g, `respondents.${index}`));
      }
    }
  });
}

document.getElementById("add-respondent").addEventListener("click", () => {
  if (respondents.children.length >= 10) return;
  const block = document.getElementById("respondent-template").content.firstElementChild.cloneNode(true);
  block.querySelector("select[data-path$='.language']").value = document.body.dataset.lang;
  block.querySelector(".remove-respondent").addEventListener("click", () => {
    block.remove();
    renumberRespondents();
  });
  respondents.appendChild(block);
  renumberRespondents();
  block.querySelector("input").focus();
});

// -- evidence chosen with the form ---------------------------------------------

let chosen = [];

fileInput.addEventListener("change", () => {
  chosen = [];
  evidenceList.replaceChildren();
  for (const file of fileInput.files) {
    const row = document.getElementById("evidence-row-template").content.firstElementChild.cloneNode(true);
    row.querySelector(".evidence-name").textContent = file.name;
    evidenceList.appendChild(row);
    chosen.push({ file, row });
  }
});

// -- the filing ----------------------------------------------------------------

function readFiling() {
  const filing = { respondents: [], languages: [] };
  const put = (path, value) => {
    const parts = path.split(".");
    let target = filing;
    for (let i = 0; i < parts.length - 1; i++) {
      const key = /^\d+$/.test(parts[i]) ? Number(parts[i]) : parts[i];
      target[key] ??= {};
      target = target[key];
    }
    target[parts.at(-1)] = value;
  };
  for (const node of form.querySelectorAll("[data-path]")) {
    if (node.type === "checkbox") put(node.dataset.path, node.checked);
    else {
      const value = node.value.trim();
      put(node.dataset.path, value === "" ? null : value);
    }
  }
  filing.respondents = filing.respondents.filter(Boolean);
  filing.languages = [...form.querySelectorAll("input[name=languages]:checked")].map((n) => n.value);
  for (const key of ["facts", "desired_outcome", "category"]) filing[key] ??= "";
  for (const party of [filing.claimant, ...filing.respondents]) party.name ??= "";
  return filing;
}

function clearErrors() {
  summary.hidden = true;
  summary.textContent = "";
  for (const node of form.querySelectorAll("[data-error-for]")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function messageFor(code, fallback) {
  const key = `intake.error.${code}`;
  const text = t(key);
  return text === key ? fallback : text;
}

// show an error at its field, or at the nearest enclosing one (languages.0 → languages)
function showFieldError(field, message) {
  let path = field;
  while (path) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(path)}"]`);
    if (slot) {
      slot.textContent = message;
      const input = form.querySelector(`[data-path="${CSS.escape(path)}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
      return input || slot;
    }
    path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
  }
  return null;
}

function showErrors(error) {
  summary.hidden = false;
  summary.textContent = t("intake.errors.summary");
  const reported = error.details?.fields?.length
    ? error.details.fields.map((f) => ({ field: f.field, message: f.message, code: error.code }))
    : [{ field: error.field, message: error.message, code: error.code }];
  let first = null;
  for (const item of reported) {
    const target = item.field ? showFieldError(item.field, messageFor(item.code, item.message)) : null;
    if (!target) summary.textContent += ` ${item.message}`;
    first ??= target;
  }
  (first || summary).focus?.();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  submit.disabled = true;
  submit.textContent = t("intake.submitting");
  let filed;
  try {
    filed = await api("/api/cases", { method: "POST", json: readFiling() });
  } catch (error) {
    submit.disabled = false;
    submit.textContent = t("intake.submit");
    if (error instanceof ApiError) showErrors(error);
    else {
      summary.hidden = false;
      summary.textContent = t("intake.errors.network");
    }
    return;
  }
  await showFiled(filed);
});

async function showFiled(filed) {
  document.getElementById("filing").hidden = true;
  const done = document.getElementById("filed");
  done.hidden = false;
  document.getElementById("filed-reference").textContent = filed.reference;
  document.getElementById("filed-link").value = filed.link_url;
  document.getElementById("filed-open").href = filed.link;
  done.focus();

  if (!chosen.length) return;
  document.getElementById("filed-uploads").hidden = false;
  const list = document.getElementById("upload-status");
  let failed = false;
  for (const { file, row } of chosen) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const state = document.createElement("span");
    state.className = "upload-state";
    state.textContent = t("intake.upload.waiting");
    item.append(name, " ", bar, " ", state);
    list.appendChild(item);

    const fields = {
      category: row.querySelector(".evidence-category").value,
      description: row.querySelector(".evidence-description").value,
      private: row.querySelector(".evidence-private").checked ? "true" : "false",
    };
    state.textContent = t("intake.upload.uploading");
    try {
      await uploadFile(`/api/cases/${filed.reference}/evidence`, file, fields, {
        token: filed.token,
        onProgress: (fraction) => { bar.value = Math.round(fraction * 100); },
      });
      bar.value = 100;
      state.textContent = t("intake.upload.done");
      item.dataset.state = "done";
    } catch (error) {
      failed = true;
      item.dataset.state = "failed";
      state.textContent = t("intake.upload.failed", { reason: messageFor(error.code, error.message) });
    }
  }
  document.getElementById("upload-later").hidden = !failed;
}
