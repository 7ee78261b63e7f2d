// The templates page: the catalogue (built-in and the user's own) with Launch, Download
// and Remove, and adding a template from a file or pasted YAML, with the API's error
// shown at the field (the document and field it names).

import { Dashboard } from "./api.js";
import { confirmAction } from "./dialog.js";
import { el, fill, ownerQuery, pageRoot, say, violations } from "./dom.js";

const root = pageRoot();
const dashboard = new Dashboard(root);
const status = document.getElementById("karvdash-status");
const catalogue = document.getElementById("karvdash-catalogue");
const owner = root.dataset.owner !== root.dataset.me ? { user: root.dataset.owner } : {};
const query = ownerQuery(root);

function card(t) {
  const id = encodeURIComponent(t.id);
  const heading = `template-${t.id}`;
  return el(
    "div",
    { class: "col" },
    el(
      "article",
      { class: "card h-100 karvdash-template", "aria-labelledby": heading, dataset: { template: t.id } },
      el(
        "div",
        { class: "card-body" },
        el(
          "h2",
          { class: "card-title h5", id: heading },
          t.name,
          " ",
          el("span", { class: t.builtin ? "badge text-bg-secondary" : "badge text-bg-info", text: t.builtin ? "built-in" : "yours" }),
        ),
        el("p", { class: "card-text karvdash-description", text: t.description || "" }),
        t.singleton ? el("p", { class: "card-text small text-body-secondary", text: "Runs once per user." }) : null,
        t.api ? el("p", { class: "card-text small text-body-secondary", text: "Uses the dashboard's API as you." }) : null,
      ),
      el(
        "div",
        { class: "card-footer karvdash-actions" },
        el("a", { class: "btn btn-sm btn-primary", href: `${root.dataset.prefix}templates/${id}${query}`, "aria-label": `Launch ${t.name}`, text: "Launch" }),
        el("a", {
          class: "btn btn-sm btn-outline-secondary",
          href: `${root.dataset.api}templates/${id}${query}`,
          download: `${t.id}.template.yaml`,
          "aria-label": `Download ${t.name}`,
          text: "Download",
        }),
        t.builtin
          ? null
          : el("button", {
              type: "button",
              class: "btn btn-sm btn-outline-danger",
              "aria-label": `Remove ${t.name}`,
              text: "Remove",
              on: { click: () => remove(t) },
            }),
      ),
    ),
  );
}

async function load() {
  try {
    const templates = await dashboard.call("GET", "templates", { query: owner });
    fill(catalogue, templates.map(card));
  } catch (err) {
    fill(catalogue);
    say(status, `The templates cannot be shown: ${err.message}`, "warning");
  }
}

async function remove(t) {
  const yes = await confirmAction({
    title: `Remove ${t.name}?`,
    message: "Services launched from it keep running. Download it first to keep a copy.",
    confirm: "Remove",
  });
  if (!yes) return;
  try {
    await dashboard.call("DELETE", `templates/${encodeURIComponent(t.id)}`, { query: owner });
    say(status, `Removed ${t.name}.`, "success");
  } catch (err) {
    say(status, `Could not remove ${t.name}: ${err.message}`, "danger");
  }
  load();
}

// -- adding

const form = document.getElementById("karvdash-add-form");
const text = document.getElementById("karvdash-add-text");
const idField = document.getElementById("karvdash-add-id");

function fieldError(field, message, ...extra) {
  const box = document.getElementById(`${field.id}-error`) || document.getElementById("karvdash-add-error");
  field.classList.add("is-invalid");
  field.setAttribute("aria-invalid", "true");
  fill(box, message, ...extra);
  field.focus();
}

function clearErrors() {
  for (const field of [text, idField]) {
    field.classList.remove("is-invalid");
    field.removeAttribute("aria-invalid");
  }
  fill(document.getElementById("karvdash-add-error"));
  fill(document.getElementById("karvdash-add-id-error"));
}

document.getElementById("karvdash-add-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (file) text.value = await file.text();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  if (!text.value.trim()) {
    fieldError(text, "Choose a file or paste the template's YAML.");
    return;
  }
  const body = { data: text.value, ...owner };
  if (idField.value.trim()) body.id = idField.value.trim();
  try {
    const added = await dashboard.call("POST", "templates", { body });
    say(status, `Added ${added.name} (id ${added.id}).`, "success");
    form.reset();
    load();
  } catch (err) {
    if (["bad-template-id", "template-exists"].includes(err.reason) && body.id) {
      fieldError(idField, err.message);
    } else if (err.where) {
      fieldError(text, el("strong", { text: `${err.where}: ` }), err.message.replace(`${err.where}: `, ""), violations(err));
    } else {
      fieldError(text, err.message, violations(err));
    }
  }
});

load();
