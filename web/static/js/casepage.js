// The case page: adds an evidence file with a progress bar, then reloads
// the list. Errors are shown next to the field the API names.

import { t } from "./app.js";
import { uploadFile } from "./upload.js";

const page = document.querySelector(".case-page");
const form = document.getElementById("evidence-upload");
const input = document.getElementById("upload-file");
const progress = document.getElementById("upload-progress");
const state = document.getElementById("upload-state");

function messageFor(code, fallback) {
  const key = `intake.error.${code}`;
  const text = t(key);
  return text === key ? fallback : text;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  for (const node of form.querySelectorAll("[data-error-for]")) node.textContent = "";
  input.removeAttribute("aria-invalid");
  const file = input.files[0];
  if (!file) {
    form.querySelector('[data-error-for="file"]').textContent = messageFor("file_missing", "Choose a file.");
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  progress.hidden = false;
  progress.value = 0;
  state.textContent = t("intake.upload.uploading");
  try {
    await uploadFile(`/api/cases/${page.dataset.reference}/evidence`, file, {
      category: document.getElementById("upload-category").value,
      description: document.getElementById("upload-description").value,
      private: document.getElementById("upload-private").checked ? "true" : "false",
    }, { onProgress: (fraction) => { progress.value = Math.round(fraction * 100); } });
    state.textContent = t("intake.upload.done");
    window.location.reload();
  } catch (error) {
    progress.hidden = true;
    button.disabled = false;
    state.textContent = "";
    const slot = form.querySelector(`[data-error-for="${error.field || "file"}"]`)
      || form.querySelector('[data-error-for="file"]');
    slot.textContent = messageFor(error.code, error.message);
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
});
