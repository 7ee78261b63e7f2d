// Uploads into a file domain: many files and whole folders, each with its progress bar
// and a Cancel button, a few at a time.
//
// fetch cannot report an upload's progress, so the bytes go with XMLHttpRequest. A file
// up to RESUMABLE_FROM is one `PUT files/...`; a bigger one is a resumable upload
// (`POST uploads`, then `PATCH uploads/{id}` chunk by chunk with `Upload-Offset`): after
// a chunk fails, the upload asks the server how far it got (`GET uploads/{id}`) and goes
// on from there; Cancel aborts the request in flight and deletes the partial upload. A
// name that is taken is a question (replace or skip, for this file or all the others of
// the batch), never a silent failure.

import { ApiError } from "./api.js";
import { choose } from "./dialog.js";
import { el, humanSize } from "./dom.js";
import { apiPath, joinPath } from "./filepaths.js";

export const RESUMABLE_FROM = 32 * 1024 * 1024;
export const CHUNK = 8 * 1024 * 1024;
const AT_ONCE = 3;
const RETRIES = 5;

export class Cancelled extends Error {}

/** One request with XMLHttpRequest: resolves to the answer's JSON (or null), rejects
 * with ApiError (Cancelled when aborted). `progress(loaded)` follows the upload; `task`
 * is `{cancelled, xhr}` (the request in flight, for Cancel). */
export function request(task, { method, url, xsrf, headers = {}, body, progress }) {
  return new Promise((resolve, reject) => {
    if (task.cancelled) {
      reject(new Cancelled("cancelled"));
      return;
    }
    const xhr = new XMLHttpRequest();
    task.xhr = xhr;
    xhr.open(method, url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-XSRFToken", xsrf);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (progress) xhr.upload.addEventListener("progress", (e) => progress(e.loaded));
    xhr.addEventListener("abort", () => reject(new Cancelled("cancelled")));
    xhr.addEventListener("error", () =>
      reject(new ApiError(0, { reason: "unavailable", message: "the connection to the dashboard was lost" })),
    );
    xhr.addEventListener("load", () => {
      let answer = null;
      if ((xhr.getResponseHeader("Content-Type") || "").startsWith("application/json")) {
        try {
          answer = JSON.parse(xhr.responseText);
        } catch {
          answer = null;
        }
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(answer);
      else if (answer) reject(new ApiError(xhr.status, answer));
      else reject(new ApiError(xhr.status, { reason: "unavailable", message: `the dashboard answered ${xhr.status}` }));
    });
    xhr.send(body);
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A failure worth trying again after asking the server where the upload stands. */
function transient(err) {
  // upload-busy: the server still writes a chunk whose request the browser gave up on
  if (err.reason === "insufficient-storage") return false;
  return [0, 408, 429].includes(err.status) || err.status >= 500 || err.reason === "upload-busy";
}

export class Uploader {
  /**
   * `list`: the <ul> of uploads (in `section`); `owner`: `{user}` when an admin acts for
   * another user; `changed()`: called when files were added (the listing reloads).
   */
  constructor({ dashboard, section, list, owner, changed }) {
    Object.assign(this, { dashboard, section, list, owner, changed });
    this.queue = [];
    this.running = 0;
    this.asking = Promise.resolve();
  }

  get busy() {
    return this.running > 0 || this.queue.length > 0;
  }

  /**
   * Upload `files` (`{file, path}`, path relative to `folder`) into `folder` of `domain`,
   * after making `folders` (paths relative to `folder`; the empty ones of a dropped folder).
   */
  async add(domain, folder, files, folders = []) {
    const batch = { conflicts: null };
    const query = domain === "private" ? this.owner : {};
    const needed = new Set();
    for (const { path } of files) {
      const parts = path.split("/");
      for (let i = 1; i < parts.length; i += 1) needed.add(parts.slice(0, i).join("/"));
    }
    this.section.hidden = false;
    for (const path of folders.filter((f) => !needed.has(f))) {
      const target = joinPath(folder, path);
      try {
        await this.dashboard.call("POST", apiPath(domain, target), { query, body: { action: "mkdir", parents: true } });
      } catch (err) {
        this.list.append(el("li", { class: "karvdash-upload text-danger", text: `${path}/: ${err.message}` }));
      }
    }
    for (const { file, path } of files) {
      const task = { file, path: joinPath(folder, path), shown: path, domain, query, batch, sent: 0 };
      task.row = this.row(task);
      this.list.append(task.row.node);
      this.queue.push(task);
    }
    if (folders.length) this.changed();
    this.pump();
  }

  pump() {
    while (this.running < AT_ONCE && this.queue.length) {
      const task = this.queue.shift();
      if (task.cancelled) continue;
      this.running += 1;
      this.run(task).finally(() => {
        this.running -= 1;
        this.pump();
        if (!this.busy) this.changed();
      });
    }
  }

  row(task) {
    const size = humanSize(task.file.size).text;
    const bar = el("progress", { max: String(Math.max(task.file.size, 1)), value: "0", "aria-label": `Upload of ${task.shown}` });
    const state = el("span", { class: "karvdash-upload-state small", text: `waiting (${size})` });
    const cancel = el("button", {
      type: "button",
      class: "btn btn-sm btn-outline-secondary",
      "aria-label": `Cancel upload of ${task.shown}`,
      text: "Cancel",
      on: { click: () => this.cancel(task) },
    });
    const node = el(
      "li",
      { class: "karvdash-upload", dataset: { upload: task.shown, state: "waiting" } },
      el("div", { class: "karvdash-upload-head" }, el("span", { class: "karvdash-upload-name", text: task.shown }), state, cancel),
      bar,
    );
    return { node, bar, state, cancel, size };
  }

  show(task, kind, text) {
    const { node, state, cancel } = task.row;
    node.dataset.state = kind;
    state.textContent = text;
    state.className = `karvdash-upload-state small${kind === "failed" ? " text-danger" : ""}`;
    if (kind !== "waiting" && kind !== "uploading") cancel.remove();
  }

  progress(task, sent) {
    task.sent = sent;
    task.row.bar.value = sent;
    const percent = task.file.size ? Math.floor((100 * sent) / task.file.size) : 100;
    this.show(task, "uploading", `${humanSize(sent).text} of ${task.row.size} (${percent}%)`);
  }

  cancel(task) {
    task.cancelled = true;
    if (task.xhr) task.xhr.abort();
    this.discard(task);
    this.show(task, "cancelled", "cancelled");
  }

  /** Delete what a cancelled resumable upload sent (the server keeps it for a resume). */
  discard(task) {
    if (!task.upload) return;
    const id = task.upload;
    task.upload = null;
    this.dashboard.call("DELETE", `uploads/${encodeURIComponent(id)}`).catch(() => null);
  }

  async run(task) {
    let overwrite = false;
    this.progress(task, 0);
    for (;;) {
      try {
        if (task.file.size > RESUMABLE_FROM) await this.resumable(task, overwrite);
        else await this.put(task, overwrite);
        task.row.bar.value = task.file.size;
        this.show(task, "done", `done (${task.row.size})`);
        this.changed();
        return;
      } catch (err) {
        if (task.cancelled || err instanceof Cancelled) {
          this.show(task, "cancelled", "cancelled");
          return;
        }
        if (err.reason === "file-exists" && !overwrite && (await this.conflict(task)) === "replace") {
          overwrite = true;
          this.progress(task, 0);
          continue;
        }
        if (err.reason === "file-exists") this.show(task, "skipped", "skipped: a file of this name is there");
        else this.show(task, "failed", `failed: ${err.message}`);
        return;
      }
    }
  }

  /** Replace or skip a file whose name is taken: asked once at a time, or once a batch. */
  conflict(task) {
    const answer = this.asking.then(async () => {
      if (task.batch.conflicts) return task.batch.conflicts;
      const { value, all } = await choose({
        title: `${task.shown} exists`,
        message: `There is already a file ${task.path || task.shown} here. Replace it with the one you upload?`,
        choices: [
          { value: "replace", label: "Replace", kind: "danger" },
          { value: "skip", label: "Skip", kind: "secondary" },
        ],
        remember: "Do the same for the other files of this upload",
        dismiss: "skip",
      });
      if (all) task.batch.conflicts = value;
      return value;
    });
    this.asking = answer.catch(() => null);
    return answer;
  }

  async put(task, overwrite) {
    const query = { ...task.query, parents: "1", ...(overwrite ? { overwrite: "1" } : {}) };
    await request(task, {
      method: "PUT",
      url: this.dashboard.url(apiPath(task.domain, task.path), query),
      xsrf: await this.dashboard.token(),
      headers: { "Content-Type": "application/octet-stream" },
      body: task.file,
      progress: (loaded) => this.progress(task, loaded),
    });
  }

  async resumable(task, overwrite) {
    const { file } = task;
    const created = await this.dashboard.call("POST", "uploads", {
      body: { domain: task.domain, path: task.path, size: file.size, overwrite, parents: true, ...task.query },
    });
    task.upload = created.id;
    if (task.cancelled) {
      this.discard(task);
      throw new Cancelled("cancelled");
    }
    const path = `uploads/${encodeURIComponent(created.id)}`;
    let offset = created.offset;
    let failures = 0;
    let sentAll = false;
    // offset null: ask the server where the upload stands (after a failed chunk)
    while (offset === null || offset < file.size) {
      try {
        if (offset === null) {
          offset = (await this.dashboard.call("GET", path)).offset;
          this.progress(task, offset);
          continue;
        }
        const start = offset;
        const end = Math.min(start + CHUNK, file.size);
        sentAll = end === file.size;
        const answer = await request(task, {
          method: "PATCH",
          url: this.dashboard.url(path),
          xsrf: await this.dashboard.token(),
          headers: { "Upload-Offset": String(start), "Content-Type": "application/offset+octet-stream" },
          body: file.slice(start, end),
          progress: (loaded) => this.progress(task, start + loaded),
        });
        offset = answer.offset;
        failures = 0;
        this.progress(task, offset);
      } catch (err) {
        if (err instanceof Cancelled || task.cancelled) throw err;
        if (err.reason === "offset-mismatch" && Number.isInteger(err.details.offset)) {
          offset = err.details.offset;
          continue;
        }
        if (err.reason === "upload-not-found" && sentAll && (await this.arrived(task))) break;
        failures += 1;
        if (!transient(err) || failures > RETRIES) throw err;
        await sleep(500 * 2 ** failures);
        offset = null;
      }
    }
    task.upload = null;
  }

  /** Whether the file is in place whole (its last chunk arrived, the answer did not). */
  async arrived(task) {
    try {
      const entry = await this.dashboard.call("GET", apiPath(task.domain, task.path), { query: task.query });
      return entry.type === "file" && entry.size === task.file.size;
    } catch {
      return false;
    }
  }
}

/**
 * What was dropped: `{files: [{file, path}], folders: [path]}`, paths relative to the
 * drop (folders walked with webkitGetAsEntry). Reads the DataTransfer at once, as it is
 * only readable during the drop event.
 */
export function dropped(transfer) {
  const entries = [];
  const loose = [];
  for (const item of Array.from(transfer.items || [])) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else if (item.getAsFile()) loose.push(item.getAsFile());
  }
  if (!entries.length && !loose.length) loose.push(...Array.from(transfer.files || []));
  return walk(entries, loose);
}

async function walk(entries, loose) {
  const files = loose.map((file) => ({ file, path: file.name }));
  const folders = [];
  const visit = async (entry, prefix) => {
    const path = prefix + entry.name;
    if (entry.isFile) {
      files.push({ file: await new Promise((ok, fail) => entry.file(ok, fail)), path });
    } else if (entry.isDirectory) {
      folders.push(path);
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const child of batch) await visit(child, `${path}/`);
      }
    }
  };
  for (const entry of entries) await visit(entry, "");
  return { files, folders };
}

/** What a file input chose: `{file, path}`, the path within a chosen folder if any. */
export function chosen(input) {
  return Array.from(input.files).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}
