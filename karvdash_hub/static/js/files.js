// The Files page: the user's private folder ("My files") and the shared one, a folder at
// a time. The page's address names the domain and the folder (files/private/a/b), so a
// link, a bookmark and the back button open it: moving between folders changes the
// address with history.pushState and lists the folder through the API, folders first,
// sorted by the column the user picks, a thousand entries at a time. Uploads (pickers, or
// files and folders dropped on the listing) are upload.js's; the actions on one entry,
// fileactions.js's.

import { Dashboard } from "./api.js";
import { el, fill, humanSize, ownerQuery, pageRoot, say, when } from "./dom.js";
import { FileActions } from "./fileactions.js";
import { apiPath, fromLocation, names, pageUrl, parentOf, previewKind } from "./filepaths.js";
import { Uploader, chosen, dropped } from "./upload.js";

const PAGE = 1000;
const root = pageRoot();
const dashboard = new Dashboard(root);
const prefix = root.dataset.prefix;
const pageQuery = ownerQuery(root);
const owner = root.dataset.owner !== root.dataset.me ? { user: root.dataset.owner } : {};
const labels = { private: owner.user ? `Files of ${owner.user}` : "My files", shared: "Shared" };
const title = document.title;
const status = document.getElementById("karvdash-status");
const table = document.getElementById("karvdash-files");
const tbody = table.querySelector("tbody");
const more = document.getElementById("karvdash-more");
const crumbs = document.getElementById("karvdash-breadcrumbs");

const view = { ...fromLocation(prefix, window.location.pathname), sort: "name", order: "asc", entries: [], total: 0 };
let ticket = 0;

/** A click on a link to a folder: the page lists it (unless the user opens a new tab). */
function open(event, domain, path) {
  if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  go(domain, path);
}

function go(domain, path, { replace = false } = {}) {
  const url = pageUrl(prefix, domain, path, pageQuery);
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  Object.assign(view, { domain, path });
  say(status, "");
  load();
}

const actions = new FileActions({
  dashboard,
  owner,
  labels,
  prefix,
  pageQuery,
  done: () => load(),
  say: (...args) => say(status, ...args),
  open,
});

// -- the listing

function showPlace() {
  for (const tab of document.querySelectorAll("#karvdash-domains a")) {
    const here = tab.dataset.domain === view.domain;
    tab.classList.toggle("active", here);
    if (here) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  const parts = names(view.path);
  const steps = [{ label: labels[view.domain], path: "" }];
  parts.forEach((name, i) => steps.push({ label: name, path: parts.slice(0, i + 1).join("/") }));
  fill(
    crumbs,
    steps.map((step, i) =>
      i === steps.length - 1
        ? el("li", { class: "breadcrumb-item active", "aria-current": "page", text: step.label })
        : el(
            "li",
            { class: "breadcrumb-item" },
            el("a", {
              href: pageUrl(prefix, view.domain, step.path, pageQuery),
              text: step.label,
              on: { click: (event) => open(event, view.domain, step.path) },
            }),
          ),
    ),
  );
  const folder = parts.length ? parts[parts.length - 1] : labels[view.domain];
  document.title = `${folder} · ${title}`;
  for (const th of table.querySelectorAll("th[data-sort]")) {
    const sorted = th.dataset.sort === view.sort;
    th.setAttribute("aria-sort", sorted ? (view.order === "asc" ? "ascending" : "descending") : "none");
  }
}

async function load({ append = false } = {}) {
  ticket += 1;
  const mine = ticket;
  const { domain, path } = view;
  showPlace();
  let folder;
  try {
    folder = await dashboard.call("GET", apiPath(domain, path), {
      query: {
        ...actions.query(domain),
        sort: view.sort,
        order: view.order,
        offset: String(append ? view.entries.length : 0),
        limit: String(PAGE),
      },
    });
  } catch (err) {
    if (mine !== ticket) return;
    view.entries = [];
    const home = path
      ? [" ", el("a", { href: pageUrl(prefix, domain, "", pageQuery), text: `Go to ${labels[domain]}`, on: { click: (e) => open(e, domain, "") } })]
      : null;
    const message = `This folder cannot be shown: ${err.message.replace(/[.]?$/, ".")}`;
    fill(tbody, el("tr", { class: "karvdash-error" }, el("td", { colspan: "4" }, el("div", { class: "alert alert-warning mb-0", role: "alert" }, message, home))));
    fill(more);
    return;
  }
  if (mine !== ticket) return;
  if (folder.type !== "folder") {
    // the address of a file: its folder, with the file's preview when there is one
    go(domain, parentOf(path), { replace: true });
    if (previewKind(folder)) actions.preview(domain, folder);
    return;
  }
  view.entries = append ? view.entries.concat(folder.entries) : folder.entries;
  view.total = folder.total;
  render();
}

function render() {
  if (!view.entries.length) {
    fill(
      tbody,
      el(
        "tr",
        { class: "karvdash-empty" },
        el("td", { colspan: "4", class: "text-body-secondary", text: "This folder is empty. Upload files or a folder, drop them here, or make a new folder." }),
      ),
    );
  } else {
    fill(tbody, view.entries.map(row));
  }
  const shown = view.entries.length;
  fill(
    more,
    shown < view.total
      ? [
          el("span", { class: "small text-body-secondary", text: `${shown} of ${view.total} shown. ` }),
          el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", text: "Load more", on: { click: () => load({ append: true }) } }),
        ]
      : null,
  );
}

function row(entry) {
  const domain = view.domain;
  const folder = entry.type === "folder";
  const preview = previewKind(entry);
  let name;
  if (folder) {
    name = el("a", {
      href: pageUrl(prefix, domain, entry.path, pageQuery),
      text: entry.name,
      on: { click: (event) => open(event, domain, entry.path) },
    });
  } else if (entry.type === "other") {
    name = el("span", { text: entry.name });
  } else if (preview) {
    name = el("a", {
      href: actions.downloadUrl(domain, entry, { inline: "1" }),
      text: entry.name,
      on: {
        click: (event) => {
          if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
          event.preventDefault();
          actions.preview(domain, entry);
        },
      },
    });
  } else {
    name = el("a", { href: actions.downloadUrl(domain, entry), download: true, text: entry.name });
  }
  const size = folder ? { text: "", title: "" } : humanSize(entry.size);
  return el(
    "tr",
    { dataset: { name: entry.name, type: entry.type } },
    el(
      "th",
      { scope: "row", class: `karvdash-entry karvdash-entry-${entry.type}` },
      name,
      entry.type === "symlink" ? el("span", { class: "badge text-bg-secondary ms-1", text: "link" }) : null,
    ),
    el("td", { class: "karvdash-size text-nowrap", title: size.title || undefined, text: size.text }),
    el("td", { class: "karvdash-modified text-nowrap" }, when(entry.modified)),
    el("td", { class: "text-end" }, entryActions(domain, entry)),
  );
}

function entryActions(domain, entry) {
  const folder = entry.type === "folder";
  const other = domain === "private" ? "shared" : "private";
  const menu = el("details", { class: "karvdash-menu" });
  const item = (text, label, act, kind = "") =>
    el("button", {
      type: "button",
      class: `dropdown-item ${kind}`,
      "aria-label": label,
      text,
      on: {
        click: () => {
          closeMenu(menu);
          act();
        },
      },
    });
  const download = (text, label, extra) =>
    el("a", { class: "btn btn-sm btn-outline-secondary", href: actions.downloadUrl(domain, entry, extra), download: true, "aria-label": label, text });
  menu.append(
    el("summary", { class: "btn btn-sm btn-outline-secondary", "aria-label": `More actions for ${entry.name}`, text: "More" }),
    el(
      "div",
      { class: "dropdown-menu show karvdash-menu-items" },
      previewKind(entry) ? item("Preview", `Preview ${entry.name}`, () => actions.preview(domain, entry)) : null,
      folder
        ? el("a", {
            class: "dropdown-item",
            href: actions.downloadUrl(domain, entry, { format: "tar.gz" }),
            download: true,
            "aria-label": `Download ${entry.name} as .tar.gz`,
            text: "Download as .tar.gz",
            on: { click: () => closeMenu(menu) },
          })
        : null,
      item("Rename or move", `Rename ${entry.name}`, () => actions.rename(domain, entry)),
      item(`Copy to ${labels[other]}`, `Copy ${entry.name} to ${labels[other]}`, () => actions.copy(domain, entry)),
      item("Delete", `Delete ${entry.name}`, () => actions.remove(domain, entry), "text-danger"),
    ),
  );
  menu.addEventListener("toggle", () => placeMenu(menu));
  let primary = null;
  if (folder) primary = download("Download .zip", `Download ${entry.name} as .zip`, { format: "zip" });
  else if (entry.type !== "other") primary = download("Download", `Download ${entry.name}`, {});
  return el("div", { class: "karvdash-row-actions" }, primary, menu);
}

// -- the entries' menus: <details>, placed over the page (a table that scrolls sideways
// would cut them off), one open at a time, closed by Escape, a click elsewhere or a scroll

function closeMenu(menu, focus = false) {
  if (!menu.open) return;
  menu.open = false;
  if (focus) menu.querySelector("summary").focus();
}

function placeMenu(menu) {
  if (!menu.open) return;
  for (const other of document.querySelectorAll("details.karvdash-menu[open]")) {
    if (other !== menu) other.open = false;
  }
  const items = menu.querySelector(".karvdash-menu-items");
  const anchor = menu.querySelector("summary").getBoundingClientRect();
  const height = items.offsetHeight;
  const below = anchor.bottom + 2 + height <= window.innerHeight;
  items.style.top = `${below ? anchor.bottom + 2 : Math.max(4, anchor.top - 2 - height)}px`;
  items.style.right = `${Math.max(4, window.innerWidth - anchor.right)}px`;
}

document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.karvdash-menu[open]")) {
    if (!menu.contains(event.target)) closeMenu(menu);
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = event.target.closest && event.target.closest("details.karvdash-menu[open]");
  if (menu) closeMenu(menu, true);
});
for (const what of ["scroll", "resize"]) {
  window.addEventListener(what, () => document.querySelectorAll("details.karvdash-menu[open]").forEach((m) => closeMenu(m)), true);
}

// -- sorting, domains, new folder

for (const th of table.querySelectorAll("th[data-sort]")) {
  th.querySelector("button").addEventListener("click", () => {
    const key = th.dataset.sort;
    if (view.sort === key) view.order = view.order === "asc" ? "desc" : "asc";
    else Object.assign(view, { sort: key, order: key === "name" ? "asc" : "desc" });
    load();
  });
}

for (const tab of document.querySelectorAll("#karvdash-domains a")) {
  tab.addEventListener("click", (event) => open(event, tab.dataset.domain, ""));
}

document.getElementById("karvdash-new-folder").addEventListener("click", () => actions.newFolder(view.domain, view.path));

window.addEventListener("popstate", () => {
  Object.assign(view, fromLocation(prefix, window.location.pathname));
  load();
});

// -- uploads: pickers, and files or folders dropped on the listing

let reloading = null;
const uploader = new Uploader({
  dashboard,
  owner,
  section: document.getElementById("karvdash-uploads"),
  list: document.getElementById("karvdash-upload-list"),
  changed: () => {
    clearTimeout(reloading);
    reloading = setTimeout(() => load(), 300);
  },
});

for (const [button, input] of [
  ["karvdash-pick-files", "karvdash-upload-files"],
  ["karvdash-pick-folder", "karvdash-upload-folder"],
]) {
  const picker = document.getElementById(input);
  document.getElementById(button).addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    const files = chosen(picker);
    picker.value = "";
    if (files.length) uploader.add(view.domain, view.path, files);
  });
}

const zone = document.getElementById("karvdash-drop");
const carriesFiles = (event) => Boolean(event.dataTransfer) && Array.from(event.dataTransfer.types).includes("Files");
let over = 0;
zone.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  over += 1;
  zone.classList.add("karvdash-dropping");
});
zone.addEventListener("dragleave", () => {
  over = Math.max(0, over - 1);
  if (!over) zone.classList.remove("karvdash-dropping");
});
zone.addEventListener("drop", async (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  over = 0;
  zone.classList.remove("karvdash-dropping");
  const { domain, path } = view;
  try {
    const { files, folders } = await dropped(event.dataTransfer);
    if (files.length || folders.length) uploader.add(domain, path, files, folders);
  } catch (err) {
    say(status, `What was dropped cannot be read: ${err.message}`, "danger");
  }
});
// a drop that misses the listing does not open the file in place of the page
for (const what of ["dragover", "drop"]) {
  window.addEventListener(what, (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    if (what === "dragover") event.dataTransfer.dropEffect = zone.contains(event.target) ? "copy" : "none";
  });
}

document.getElementById("karvdash-clear-uploads").addEventListener("click", () => {
  for (const item of document.querySelectorAll("#karvdash-upload-list > li")) {
    if (item.dataset.state !== "waiting" && item.dataset.state !== "uploading") item.remove();
  }
  if (!uploader.busy && !document.querySelector("#karvdash-upload-list > li")) {
    document.getElementById("karvdash-uploads").hidden = true;
  }
});

window.addEventListener("beforeunload", (event) => {
  if (uploader.busy) event.preventDefault();
});

load();
