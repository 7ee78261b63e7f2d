// The launch form of a template (rendered by the service from the template's variables):
// the values go to the API, and an error that names a variable (`where`:
// "variables.NAME") appears under that field; others, with the policy's violations, above
// the form.

import { Dashboard } from "./api.js";
import { el, fill, pageRoot, violations } from "./dom.js";

const root = pageRoot();
const dashboard = new Dashboard(root);
const form = document.getElementById("karvdash-launch");
const formError = document.getElementById("karvdash-form-error");
const owner = root.dataset.owner !== root.dataset.me ? root.dataset.owner : null;

function values() {
  const out = {};
  for (const field of form.querySelectorAll("[data-type]")) {
    out[field.name] = field.type === "checkbox" ? field.checked : field.value;
  }
  return out;
}

function clear() {
  formError.classList.add("d-none");
  fill(formError);
  for (const field of form.querySelectorAll("[data-type]")) {
    field.classList.remove("is-invalid");
    field.removeAttribute("aria-invalid");
    fill(document.getElementById(`${field.id}-error`));
  }
}

function show(err) {
  const variable = err.where && err.where.startsWith("variables.") ? err.where.slice(10) : null;
  const field = variable ? document.getElementById(`var-${variable}`) : null;
  if (field) {
    field.classList.add("is-invalid");
    field.setAttribute("aria-invalid", "true");
    fill(document.getElementById(`${field.id}-error`), err.message);
    field.focus();
    return;
  }
  fill(formError, el("strong", { text: "The service was not launched: " }), err.message, violations(err));
  formError.classList.remove("d-none");
  formError.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clear();
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const body = { template: form.dataset.template, variables: values() };
  if (owner) body.user = owner;
  try {
    const launched = await dashboard.call("POST", "services", { body });
    const query = owner ? `?user=${encodeURIComponent(owner)}` : "";
    window.location.assign(`${root.dataset.prefix}services/${encodeURIComponent(launched.name)}${query}`);
  } catch (err) {
    show(err);
    button.disabled = false;
  }
});

// "Launch again with changes": the form starts from the values of the service named by
// ?from= (a secret variable's value was not kept: its field keeps the template's default)
const from = new URLSearchParams(window.location.search).get("from");
if (from) {
  try {
    const service = await dashboard.call("GET", `services/${encodeURIComponent(from)}`, { query: owner ? { user: owner } : {} });
    for (const [name, value] of Object.entries(service.values || {})) {
      const field = document.getElementById(`var-${name}`);
      if (!field || value === null) continue;
      if (field.type === "checkbox") field.checked = Boolean(value);
      else field.value = String(value);
    }
  } catch (err) {
    show(err);
  }
}
