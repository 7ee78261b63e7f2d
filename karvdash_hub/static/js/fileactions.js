// What the Files page does in a folder and to one of its entries: a new folder, rename
// (a move within the domain), copy to the other domain, delete (asked first; a folder
// with everything in it), and a preview of images and of the start of text files.
// Errors of a form stay in its dialog, at the field, until corrected or cancelled.

import { confirmAction, formDialog } from "./dialog.js";
import { el, fill } from "./dom.js";
import { apiPath, joinPath, pageUrl, parentOf, previewKind } from "./filepaths.js";

/** How much of a text file a preview shows. */
export const PREVIEW_BYTES = 256 * 1024;
/** Copies, moves and deletions of big folders take a while. */
const LONG_MS = 10 * 60 * 1000;

let previews = 0;

function needed(value, what) {
  if (!value.trim()) throw new Error(`Give ${what}.`);
  return value;
}

export class FileActions {
  /**
   * `owner`: `{user}` when an admin acts for another user (for the private domain);
   * `labels`: each domain's name as the page shows it; `done()`: reload the listing;
   * `say(message, kind, ...extra)`: the page's status.
   */
  constructor({ dashboard, owner, labels, prefix, pageQuery, done, say, open }) {
    Object.assign(this, { dashboard, owner, labels, prefix, pageQuery, done, say, open });
  }

  /** The API's query for something that involves these domains. */
  query(...domains) {
    return domains.includes("private") ? this.owner : {};
  }

  downloadUrl(domain, entry, extra = {}) {
    return this.dashboard.url(apiPath(domain, entry.path), { ...this.query(domain), download: "1", ...extra });
  }

  async newFolder(domain, folder) {
    const made = await formDialog({
      title: "New folder",
      fields: [{ name: "name", label: "Folder name" }],
      confirm: "Create",
      submit: ({ name }) =>
        this.dashboard.call("POST", apiPath(domain, joinPath(folder, needed(name, "the folder a name"))), {
          query: this.query(domain),
          body: { action: "mkdir", parents: false },
        }),
    });
    if (!made) return;
    this.say(`Made the folder ${made.name}.`, "success");
    this.done();
  }

  async rename(domain, entry) {
    const folder = parentOf(entry.path);
    const dot = entry.name.lastIndexOf(".");
    const moved = await formDialog({
      title: `Rename ${entry.name}`,
      fields: [
        {
          name: "to",
          label: "New name",
          value: entry.name,
          help: "To move it to another folder, give a path: from this folder (reports/new-name), or from the top of the domain (/reports/new-name).",
        },
      ],
      confirm: "Rename",
      select: (value) => [0, entry.type !== "folder" && dot > 0 ? dot : value.length],
      submit: ({ to }) => {
        const target = to.startsWith("/") ? joinPath(to) : joinPath(folder, needed(to, "a new name"));
        return this.dashboard.call("POST", apiPath(domain, entry.path), {
          query: this.query(domain),
          body: { action: "move", to: target, overwrite: false },
          timeout: LONG_MS,
        });
      },
    });
    if (!moved) return;
    this.say(`Renamed ${entry.name} to ${moved.path}.`, "success");
    this.done();
  }

  async copy(domain, entry) {
    const other = domain === "private" ? "shared" : "private";
    const copied = await formDialog({
      title: `Copy ${entry.name} to ${this.labels[other]}`,
      fields: [
        {
          name: "to",
          label: `Path in ${this.labels[other]}`,
          value: entry.name,
          help: `From the top of ${this.labels[other]}: folder/name. Missing folders are not made.`,
        },
        { name: "overwrite", label: "Replace what has that name there", type: "checkbox" },
      ],
      confirm: "Copy",
      submit: ({ to, overwrite }) =>
        this.dashboard.call("POST", apiPath(domain, entry.path), {
          query: this.query(domain, other),
          body: { action: "copy", to_domain: other, to: joinPath(needed(to, "a path")), overwrite },
          timeout: LONG_MS,
        }),
    });
    if (!copied) return;
    const where = parentOf(copied.path);
    this.say(
      `Copied ${entry.name} to ${this.labels[other]} as ${copied.path}. `,
      "success",
      el("a", {
        href: pageUrl(this.prefix, other, where, this.pageQuery),
        text: "Open that folder",
        on: { click: (event) => this.open(event, other, where) },
      }),
    );
    this.done();
  }

  async remove(domain, entry) {
    const folder = entry.type === "folder";
    const yes = await confirmAction({
      title: `Delete ${entry.name}?`,
      message: folder
        ? `The folder ${entry.name} and everything in it, its folders too, will be deleted. This cannot be undone.`
        : `The file ${entry.name} will be deleted. This cannot be undone.`,
      confirm: folder ? "Delete folder and contents" : "Delete",
    });
    if (!yes) return;
    try {
      await this.dashboard.call("DELETE", apiPath(domain, entry.path), {
        query: { ...this.query(domain), ...(folder ? { recursive: "1" } : {}) },
        timeout: LONG_MS,
      });
      this.say(`Deleted ${entry.name}.`, "success");
    } catch (err) {
      this.say(`Could not delete ${entry.name}: ${err.message}`, "danger");
    }
    this.done();
  }

  /** A dialog with the image, or the start of the text, of a file. */
  preview(domain, entry) {
    previews += 1;
    const id = `karvdash-preview-${previews}`;
    const body = el("div", { class: "karvdash-preview-body" }, el("p", { class: "text-body-secondary", text: "Loading…" }));
    const close = el("button", { value: "close", class: "btn btn-secondary", text: "Close" });
    const dialog = el(
      "dialog",
      { class: "karvdash-dialog karvdash-preview", "aria-labelledby": id },
      el(
        "form",
        { method: "dialog", class: "karvdash-heading" },
        el("h2", { class: "h5", id, text: entry.name }),
        el(
          "div",
          { class: "karvdash-actions" },
          el("a", { class: "btn btn-outline-secondary", href: this.downloadUrl(domain, entry), download: true, text: "Download" }),
          close,
        ),
      ),
      body,
    );
    dialog.addEventListener("close", () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    close.focus();
    if (previewKind(entry) === "image") {
      const image = el("img", {
        class: "karvdash-preview-image",
        alt: `Preview of ${entry.name}`,
        src: this.downloadUrl(domain, entry, { inline: "1" }),
      });
      image.addEventListener("error", () => fill(body, el("p", { class: "text-danger", text: "This image cannot be shown: download it." })));
      fill(body, image);
    } else {
      this.text(domain, entry, body);
    }
    return dialog;
  }

  async text(domain, entry, box) {
    let text = "";
    try {
      if (entry.size > 0) text = await this.readStart(domain, entry);
    } catch (err) {
      fill(box, el("p", { class: "text-danger", role: "alert", text: `This file cannot be shown: ${err.message}` }));
      return;
    }
    fill(
      box,
      entry.size > PREVIEW_BYTES
        ? el("p", { class: "small text-body-secondary", text: `The first ${PREVIEW_BYTES / 1024} KiB; download the file for the rest.` })
        : null,
      el("pre", { class: "karvdash-preview-text", tabindex: "0", "aria-label": `Text of ${entry.name}`, text: text || "(empty)" }),
    );
  }

  /** The first PREVIEW_BYTES of a file as text (a `Range` request, read no further). */
  async readStart(domain, entry) {
    const response = await fetch(this.downloadUrl(domain, entry, { inline: "1" }), {
      credentials: "same-origin",
      headers: { Range: `bytes=0-${PREVIEW_BYTES - 1}`, "X-XSRFToken": await this.dashboard.token() },
      signal: AbortSignal.timeout(30000),
    });
    if (!response.ok) {
      const answer = await response.json().catch(() => ({}));
      throw new Error(answer.message || `the dashboard answered ${response.status}`);
    }
    const reader = response.body.getReader();
    const chunks = [];
    let read = 0;
    while (read < PREVIEW_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      read += value.length;
    }
    reader.cancel().catch(() => null);
    const bytes = new Uint8Array(read);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    // a character cut at the end is left out (stream), not shown as a replacement
    return new TextDecoder().decode(bytes.subarray(0, PREVIEW_BYTES), { stream: true });
  }
}
