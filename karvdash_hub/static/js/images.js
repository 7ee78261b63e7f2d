// The Images page: the private registry's repositories that the user may pull (their
// own and library/; every one for admins), how to use them (the registry's host, the
// reference a template writes, docker login with an API token), each repository's tags
// in detail when it is opened (digest, size, date, platform, the template's reference),
// an upload of an image archive (imageupload.js), and deletions of a tag (with every tag
// of the image it names) or of a whole repository, asked first.

import { Dashboard } from "./api.js";
import { confirmAction } from "./dialog.js";
import { el, fill, humanSize, pageRoot, say, when } from "./dom.js";
import { ImageUpload, imagePath, pushedSummary } from "./imageupload.js";

const root = pageRoot();
const dashboard = new Dashboard(root);
const status = document.getElementById("karvdash-status");
const list = document.getElementById("karvdash-images");
const help = document.getElementById("karvdash-registry-help");
const opener = document.getElementById("karvdash-upload-image");

const view = { registry: "", namespace: "", repositories: [], open: new Set(), details: new Map() };
let ticket = 0;

const upload = new ImageUpload({
  dashboard,
  opener,
  say: (...args) => say(status, ...args),
  pushed: (answer) => {
    say(status, pushedSummary(answer), "success");
    view.open.add(answer.name);
    load();
  },
});

/** The short form of a digest: `sha256:` and its first 12 hex digits. */
function shortDigest(digest) {
  const [algorithm, hex = ""] = String(digest).split(":");
  return `${algorithm}:${hex.slice(0, 12)}`;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// -- the list

async function load() {
  ticket += 1;
  const mine = ticket;
  let answer;
  try {
    answer = await dashboard.call("GET", "images");
  } catch (err) {
    if (mine === ticket) unavailable(err);
    return;
  }
  if (mine !== ticket) return;
  Object.assign(view, { registry: answer.registry, namespace: answer.namespace, repositories: answer.repositories });
  for (const node of document.querySelectorAll(".karvdash-registry-host")) node.textContent = answer.registry;
  for (const node of document.querySelectorAll(".karvdash-namespace")) node.textContent = answer.namespace;
  upload.setNamespace(answer.namespace);
  help.hidden = false;
  opener.hidden = false;
  opener.disabled = false;
  const names = new Set(view.repositories.map((r) => r.name));
  for (const name of [...view.open]) if (!names.has(name)) view.open.delete(name);
  view.details.clear();
  render();
  for (const name of view.open) details(name);
}

/** No list: no registry, a registry that does not answer, or the service's own trouble. */
function unavailable(err) {
  help.hidden = true;
  opener.hidden = true;
  let message = `The images cannot be shown: ${err.message.replace(/[.]?$/, ".")}`;
  if (err.reason === "no-registry") {
    message = "This installation has no private container registry, so there are no images to manage here.";
  } else if (err.reason === "registry-unavailable" || err.status === 503) {
    message = "The registry does not answer just now, so its images cannot be shown. Try again in a moment.";
  }
  const again =
    err.reason === "no-registry"
      ? null
      : el("button", { type: "button", class: "btn btn-sm btn-outline-secondary ms-2", text: "Try again", on: { click: () => load() } });
  fill(list, el("div", { class: "alert alert-warning karvdash-images-unavailable", role: "alert", dataset: { reason: err.reason } }, message, again));
}

function render() {
  if (!view.repositories.length) {
    fill(
      list,
      el(
        "div",
        { class: "karvdash-images-empty" },
        el("h2", { class: "h5", text: "No images yet" }),
        el(
          "p",
          {},
          "Build an image with Docker, save it with ",
          el("code", { text: "docker save <image> -o image.tar" }),
          " and upload the archive here; then a template can run it as ",
          el("code", { text: `$REGISTRY/${view.namespace}/<image>:<tag>` }),
          ".",
        ),
        el("button", { type: "button", class: "btn btn-primary", id: "karvdash-empty-upload", text: "Upload image", on: { click: () => upload.open() } }),
      ),
    );
    return;
  }
  fill(list, el("ul", { class: "list-unstyled karvdash-repositories" }, view.repositories.map(repository)));
}

function ownerBadge(repo) {
  if (repo.owner === view.namespace) return el("span", { class: "badge text-bg-info", text: "yours" });
  if (repo.owner === "library") return el("span", { class: "badge text-bg-secondary", text: "library" });
  return el("span", { class: "badge text-bg-light border", text: repo.owner });
}

function repository(repo, index) {
  const open = view.open.has(repo.name);
  const id = `karvdash-repo-${index}`;
  const toggle = el(
    "button",
    {
      type: "button",
      class: "karvdash-repo-toggle",
      id: `${id}-toggle`,
      "aria-expanded": String(open),
      "aria-controls": `${id}-tags`,
      on: { click: () => flip(repo.name) },
    },
    el("span", { class: "karvdash-repo-name", text: repo.name }),
  );
  const shown = repo.tags.slice(0, 8);
  return el(
    "li",
    { class: "card karvdash-repository", dataset: { repository: repo.name } },
    el(
      "div",
      { class: "card-body" },
      el(
        "div",
        { class: "karvdash-heading mb-1" },
        el("h2", { class: "h6" }, toggle, " ", ownerBadge(repo)),
        el(
          "div",
          { class: "karvdash-actions" },
          repo.can_push
            ? el("button", {
                type: "button",
                class: "btn btn-sm btn-outline-primary",
                "aria-label": `Upload a tag of ${repo.name}`,
                text: "Upload a tag",
                on: { click: () => upload.open(repo.name) },
              })
            : null,
          repo.can_delete
            ? el("button", {
                type: "button",
                class: "btn btn-sm btn-outline-danger",
                "aria-label": `Delete ${repo.name}`,
                text: "Delete",
                on: { click: () => removeRepository(repo) },
              })
            : null,
        ),
      ),
      el(
        "p",
        { class: "small text-body-secondary mb-0 karvdash-repo-tags" },
        `${plural(repo.tags.length, "tag", "tags")}: `,
        shown.map((tag) => [el("span", { class: "badge text-bg-light border karvdash-tag", text: tag }), " "]),
        repo.tags.length > shown.length ? `and ${repo.tags.length - shown.length} more` : null,
      ),
      el(
        "div",
        { class: "karvdash-repo-details", id: `${id}-tags`, role: "region", "aria-labelledby": `${id}-toggle`, hidden: !open },
        el("p", { class: "karvdash-loading small mb-0 mt-2", text: "Loading…" }),
      ),
    ),
  );
}

function flip(name) {
  if (view.open.has(name)) view.open.delete(name);
  else view.open.add(name);
  const item = [...list.querySelectorAll("li[data-repository]")].find((li) => li.dataset.repository === name);
  if (!item) return;
  const open = view.open.has(name);
  item.querySelector(".karvdash-repo-toggle").setAttribute("aria-expanded", String(open));
  item.querySelector(".karvdash-repo-details").hidden = !open;
  if (open && !view.details.has(name)) details(name);
}

// -- one repository's tags

async function details(name) {
  const mine = ticket;
  let image;
  try {
    image = await dashboard.call("GET", imagePath(name));
  } catch (err) {
    if (mine !== ticket) return;
    showDetails(name, el("div", { class: "alert alert-warning mt-2 mb-0", text: `Its tags cannot be shown: ${err.message.replace(/[.]?$/, ".")}` }));
    return;
  }
  if (mine !== ticket) return;
  view.details.set(name, image);
  showDetails(name, tagTable(image));
}

function showDetails(name, content) {
  const item = [...list.querySelectorAll("li[data-repository]")].find((li) => li.dataset.repository === name);
  if (item) fill(item.querySelector(".karvdash-repo-details"), content);
}

function copyButton(text, label) {
  return el("button", {
    type: "button",
    class: "btn btn-sm btn-outline-secondary karvdash-copy",
    "aria-label": label,
    text: "Copy",
    on: { click: (event) => copy(text, event.currentTarget) },
  });
}

async function copy(text, button) {
  let done = "Copied";
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // no clipboard (a page that is not HTTPS): the text is selected, for Ctrl+C
    const code = button.parentElement.querySelector("code");
    if (code) window.getSelection().selectAllChildren(code);
    done = "Selected";
  }
  button.textContent = done;
  setTimeout(() => {
    button.textContent = "Copy";
  }, 2000);
}

function platform(tag) {
  if (tag.os && tag.architecture) return `${tag.os}/${tag.architecture}`;
  return tag.media_type && tag.media_type.includes("index") ? "several" : "";
}

function tagTable(image) {
  const rows = image.details.map((tag) => {
    const size = tag.size === null ? { text: "", title: "" } : humanSize(tag.size);
    return el(
      "tr",
      { dataset: { tag: tag.tag, digest: tag.digest } },
      el("th", { scope: "row", class: "karvdash-tag-name", text: tag.tag }),
      el(
        "td",
        { class: "karvdash-digest" },
        el("code", { title: tag.digest, text: shortDigest(tag.digest) }),
        " ",
        copyButton(tag.digest, `Copy the digest of ${image.name}:${tag.tag}`),
      ),
      el("td", { class: "karvdash-size text-nowrap", title: size.title || undefined, text: size.text }),
      el("td", { class: "karvdash-created text-nowrap" }, tag.created ? when(tag.created) : null),
      el("td", { class: "karvdash-platform text-nowrap", text: platform(tag) }),
      el(
        "td",
        { class: "karvdash-reference" },
        el("code", { text: tag.template_reference }),
        " ",
        copyButton(tag.template_reference, `Copy the template reference of ${image.name}:${tag.tag}`),
      ),
      el(
        "td",
        { class: "text-end" },
        image.can_delete
          ? el("button", {
              type: "button",
              class: "btn btn-sm btn-outline-danger",
              "aria-label": `Delete ${image.name}:${tag.tag}`,
              text: "Delete",
              on: { click: () => removeTag(image, tag) },
            })
          : null,
      ),
    );
  });
  const head = ["Tag", "Digest", "Size", "Created", "Platform", "In a template"];
  const classes = ["", "karvdash-digest", "karvdash-size", "karvdash-created", "karvdash-platform", ""];
  return el(
    "div",
    { class: "table-responsive mt-2" },
    el(
      "table",
      { class: "table table-sm align-middle mb-0 karvdash-tags" },
      el("caption", { class: "visually-hidden", text: `The tags of ${image.name}` }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          head.map((text, i) => el("th", { scope: "col", class: classes[i] || undefined, text })),
          el("th", { scope: "col", class: "text-end" }, el("span", { class: "visually-hidden", text: "Actions" })),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}

// -- deleting

async function removeTag(image, tag) {
  const same = image.details.filter((t) => t.digest === tag.digest).map((t) => t.tag);
  const others = same.filter((t) => t !== tag.tag);
  const gone = others.length
    ? `Deleting a tag deletes the image it names (${shortDigest(tag.digest)}), so every tag of that image goes with it: ${same.join(", ")}.`
    : `This deletes the image it names (${shortDigest(tag.digest)}).`;
  const yes = await confirmAction({
    title: `Delete ${image.name}:${tag.tag}?`,
    message: `${gone} Running services keep what they run, but new pods cannot pull it.`,
    confirm: "Delete",
  });
  if (!yes) return;
  await remove(imagePath(image.name, tag.tag), `${image.name}:${tag.tag}`);
}

async function removeRepository(repo) {
  const yes = await confirmAction({
    title: `Delete ${repo.name}?`,
    message: `Every tag of it goes: ${repo.tags.join(", ")}. Running services keep what they run, but new pods cannot pull it.`,
    confirm: "Delete",
  });
  if (!yes) return;
  await remove(imagePath(repo.name), repo.name);
}

async function remove(path, what) {
  try {
    const deleted = await dashboard.call("DELETE", path, { timeout: 120000 });
    say(status, `Deleted ${what} (${plural(deleted.tags.length, "tag", "tags")}: ${deleted.tags.join(", ")}).`, "success");
  } catch (err) {
    say(status, `Could not delete ${what}: ${err.message}`, "danger");
  }
  load();
}

opener.addEventListener("click", () => (upload.section.hidden ? upload.open() : upload.close()));

window.addEventListener("beforeunload", (event) => {
  if (upload.busy) event.preventDefault();
});

load();
