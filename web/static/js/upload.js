// One evidence upload with progress: fetch() cannot report upload progress,
// so this uses XMLHttpRequest and resolves with the API's JSON answer.

import { ApiError, csrfToken } from "./app.js";

export function uploadFile(url, file, fields = {}, { token, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const body = new FormData();
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    // the file goes last, so the server has the fields before the bytes
    body.append("file", file, file.name);

    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { error: { code: "network", message: "network error" } })));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { error: { code: "aborted", message: "aborted" } })));
    xhr.send(body);
  });
}
