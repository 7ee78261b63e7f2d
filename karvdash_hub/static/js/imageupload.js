// The Images page's upload: one image archive (`docker save`, or an OCI archive; tar or
// tar.gz) sent as the body of `PUT images/<name>:<tag>`, with XMLHttpRequest as the
// Files page's uploads are (upload.js's request), so that a progress bar follows the
// bytes. Once they are all sent, the server checks the archive and pushes it to the
// registry, and answers when the push is done: the form says so meanwhile. An error is
// the server's message, at the field it is about.

import { fill, humanSize } from "./dom.js";
import { Cancelled, request } from "./upload.js";

const ARCHIVE = /(\.tar\.gz|\.tgz|\.tar)$/i;

/** An image name made from an archive's file name: `My App_v2.tar.gz` -> `my-app_v2`. */
export function guessName(filename) {
  const base = filename.replace(ARCHIVE, "").toLowerCase();
  const name = base
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/[._-]*([._-])[._-]*/g, "$1")
    .replace(/^[._-]+|[._-]+$/g, "");
  return name || "image";
}

/** A repository (and tag) as a path of the API: each part encoded, "/" kept. */
export function imagePath(name, tag) {
  const path = name.split("/").map(encodeURIComponent).join("/");
  return `images/${path}${tag ? `:${encodeURIComponent(tag)}` : ""}`;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a push did, in words. */
export function pushedSummary(pushed) {
  const { sent, existing } = pushed.blobs;
  const size = pushed.size === null ? "" : ` (${humanSize(pushed.size).text})`;
  return `Pushed ${pushed.name}:${pushed.tag}${size}: ${plural(sent, "blob", "blobs")} sent, ${existing} already in the registry.`;
}

export class ImageUpload {
  /**
   * `opener`: the button that shows the form; `pushed(answer)`: called after a push (the
   * page lists it and says so); `say(message)`: the page's status (cleared at a start).
   */
  constructor({ dashboard, opener, pushed, say }) {
    Object.assign(this, { dashboard, opener, pushed, say });
    this.section = document.getElementById("karvdash-upload");
    this.form = document.getElementById("karvdash-upload-form");
    this.file = document.getElementById("karvdash-image-file");
    this.name = document.getElementById("karvdash-image-name");
    this.tag = document.getElementById("karvdash-image-tag");
    this.error = document.getElementById("karvdash-image-error");
    this.nameHelp = document.getElementById("karvdash-image-name-help");
    this.box = document.getElementById("karvdash-image-progress");
    this.label = document.getElementById("karvdash-image-progress-name");
    this.state = document.getElementById("karvdash-image-progress-state");
    this.bar = document.getElementById("karvdash-image-bar");
    this.submit = document.getElementById("karvdash-image-submit");
    this.cancel = document.getElementById("karvdash-image-cancel");
    this.namespace = "";
    this.guessed = "";
    this.task = null;
    this.file.addEventListener("change", () => this.chosen());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.cancel.addEventListener("click", () => (this.task ? this.abort() : this.close()));
  }

  get busy() {
    return this.task !== null;
  }

  /** The user's namespace in the registry: their images' names start with it. */
  setNamespace(namespace) {
    this.namespace = namespace;
    fill(this.nameHelp, `Your images are named ${namespace}/<image>.`);
  }

  /** Show the form; `name` pre-fills a repository's name (a new tag of it). */
  open(name = "") {
    this.section.hidden = false;
    this.opener.setAttribute("aria-expanded", "true");
    if (!this.busy) {
      this.clearErrors();
      this.name.value = name || `${this.namespace}/`;
      this.guessed = name ? "" : this.name.value;
      if (this.file.files.length && !name) this.chosen();
    }
    this.section.scrollIntoView({ block: "nearest" });
    this.file.focus();
  }

  close() {
    this.section.hidden = true;
    this.opener.setAttribute("aria-expanded", "false");
    this.opener.focus();
  }

  /** A file was chosen: the name follows it, unless the user wrote one. */
  chosen() {
    const file = this.file.files[0];
    if (!file) return;
    if (this.name.value === this.guessed || this.name.value === `${this.namespace}/`) {
      this.name.value = `${this.namespace}/${guessName(file.name)}`;
      this.guessed = this.name.value;
    }
  }

  clearErrors() {
    fill(this.error);
    for (const field of [this.file, this.name, this.tag]) {
      field.classList.remove("is-invalid");
      field.removeAttribute("aria-invalid");
    }
  }

  fail(field, message) {
    fill(this.error, message);
    if (!field) return;
    field.classList.add("is-invalid");
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }

  show(kind, text) {
    this.box.dataset.state = kind;
    this.state.textContent = text;
    this.state.classList.toggle("text-danger", kind === "failed");
  }

  progress(sent, size) {
    this.bar.value = sent;
    if (sent >= size) {
      this.show("pushing", "all sent: pushing to the registry…");
      this.cancel.disabled = true;
      return;
    }
    const percent = size ? Math.floor((100 * sent) / size) : 100;
    this.show("uploading", `${humanSize(sent).text} of ${humanSize(size).text} (${percent}%)`);
  }

  abort() {
    if (!this.task) return;
    this.task.cancelled = true;
    if (this.task.xhr) this.task.xhr.abort();
  }

  async send() {
    if (this.busy) return;
    this.clearErrors();
    this.say("");
    const file = this.file.files[0];
    const name = this.name.value.trim();
    const tag = this.tag.value.trim() || "latest";
    if (!file) return this.fail(this.file, "Choose an image archive (.tar or .tar.gz).");
    if (!name || name.endsWith("/")) return this.fail(this.name, `Give the image a name, as ${this.namespace}/<image>.`);
    this.task = { cancelled: false, xhr: null };
    this.box.hidden = false;
    this.label.textContent = `${file.name} → ${name}:${tag}`;
    this.bar.max = Math.max(file.size, 1);
    this.bar.setAttribute("aria-label", `Upload of ${file.name}`);
    this.submit.disabled = true;
    this.cancel.textContent = "Cancel";
    this.progress(0, file.size);
    try {
      const xsrf = await this.dashboard.token();
      const answering = request(this.task, {
        method: "PUT",
        url: this.dashboard.url(imagePath(name, tag)),
        xsrf,
        headers: { "Content-Type": "application/x-tar" },
        body: file,
        progress: (loaded) => this.progress(loaded, file.size),
      });
      // every byte is sent: the server now checks the archive and pushes it
      if (this.task.xhr) this.task.xhr.upload.addEventListener("load", () => this.progress(file.size, file.size));
      const answer = await answering;
      this.bar.value = this.bar.max;
      this.show("done", `done: ${answer.name}:${answer.tag}`);
      this.file.value = "";
      this.guessed = "";
      this.pushed(answer);
    } catch (err) {
      if (err instanceof Cancelled || this.task.cancelled) this.show("cancelled", "cancelled: nothing was pushed");
      else this.refused(err);
    } finally {
      this.task = null;
      this.submit.disabled = false;
      this.cancel.disabled = false;
      this.cancel.textContent = "Close";
    }
  }

  refused(err) {
    let message = err.message;
    if (err.status === 413 && err.reason !== "too-large") message = "the archive is larger than the installation allows";
    this.show("failed", "failed: nothing was pushed");
    const tagged = err.reason === "bad-reference" && /is not a tag/.test(message);
    const field = tagged
      ? this.tag
      : { "bad-archive": this.file, "too-large": this.file, "bad-reference": this.name, "not-yours": this.name }[err.reason];
    this.fail(field, `The image was not uploaded: ${message.replace(/[.]?$/, ".")}`);
  }
}
