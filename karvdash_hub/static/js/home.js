// The hub's home page: JupyterHub's own script (Start/Stop My Server), the user's
// services from the dashboard API with Stop and a quick Launch, and, for admins, the
// sign-ups waiting for approval. When the dashboard service does not answer, its box
// says so and the rest of the page works.

import { Dashboard } from "./api.js";
import { el, fill, pageRoot, say, violations } from "./dom.js";
import { hubCall } from "./hub.js";
import { ServiceTable, stopService } from "./servicelist.js";

// JupyterHub's home page script, loaded as JupyterHub's own template does
if (window.require) window.require(["home"]);

const REFRESH_MS = 10000;
const root = pageRoot();
const dashboard = new Dashboard(root);
const status = document.getElementById("karvdash-status");
const form = document.getElementById("karvdash-quick-launch");
const select = document.getElementById("karvdash-quick-template");
let timer = null;

const table = new ServiceTable(
  document.querySelector("#karvdash-services tbody"),
  root,
  async (name) => {
    if (await stopService(dashboard, name, {}, (m, k) => say(status, m, k))) refresh();
  },
);

function retryButton() {
  return el("button", {
    type: "button",
    class: "btn btn-sm btn-outline-secondary ms-2",
    text: "Try again",
    on: { click: () => start() },
  });
}

async function refresh() {
  clearTimeout(timer);
  try {
    table.show(await dashboard.call("GET", "services"));
    if (status.dataset.trouble) {
      delete status.dataset.trouble;
      say(status, "");
    }
  } catch (err) {
    status.dataset.trouble = "1";
    table.unavailable("Services are unavailable.");
    const what = err.unavailable
      ? "The dashboard service is unavailable: your services cannot be shown now. Your server and the rest of this page work."
      : `Your services cannot be shown: ${err.message}.`;
    say(status, what, "warning", retryButton());
    return false;
  }
  if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
  return true;
}

async function loadTemplates() {
  try {
    const templates = await dashboard.call("GET", "templates");
    fill(
      select,
      el("option", { value: "", text: "Choose a template" }),
      templates.map((t) => el("option", { value: t.id, text: t.name })),
    );
    select.disabled = false;
    form.querySelector("button").disabled = false;
  } catch {
    fill(select, el("option", { value: "", text: "Templates are unavailable" }));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!select.value) {
    say(status, "Choose a template to launch.", "warning");
    select.focus();
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const launched = await dashboard.call("POST", "services", { body: { template: select.value, variables: {} } });
    say(status, `Launched ${launched.name}.`, "success", launched.warning ? el("div", { text: launched.warning }) : null);
    refresh();
  } catch (err) {
    say(status, `Could not launch: ${err.message}`, "danger", violations(err));
  } finally {
    button.disabled = false;
  }
});

select.addEventListener("change", () => {
  const link = document.getElementById("karvdash-launch-options");
  link.href = select.value
    ? `${root.dataset.prefix}templates/${encodeURIComponent(select.value)}`
    : `${root.dataset.prefix}templates`;
});

async function start() {
  say(status, "");
  if (await refresh()) loadTemplates();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !status.dataset.trouble) refresh();
  else clearTimeout(timer);
});

start();

// admins: the sign-ups waiting for approval (the hub's own data: works without the service)
const signups = document.getElementById("karvdash-signups");
const signupsStatus = document.getElementById("karvdash-signups-status");

async function showSignups() {
  const hub = root.dataset.hub;
  try {
    const waiting = (await hubCall(hub, "GET", "karvdash/api/signups")).filter((s) => !s.approved);
    if (!waiting.length) {
      fill(signups, el("li", { class: "list-group-item text-body-secondary", text: "Nobody is waiting." }));
      return;
    }
    fill(
      signups,
      waiting.map((s) =>
        el(
          "li",
          { class: "list-group-item karvdash-signup", dataset: { user: s.name } },
          el("span", { class: "karvdash-signup-name", text: s.name }),
          el(
            "span",
            { class: "karvdash-actions" },
            el("button", {
              type: "button",
              class: "btn btn-sm btn-primary",
              "aria-label": `Approve ${s.name}`,
              text: "Approve",
              on: { click: () => decide(s.name, "PUT", `karvdash/api/approvals/${encodeURIComponent(s.name)}`, "Approved") },
            }),
            el("button", {
              type: "button",
              class: "btn btn-sm btn-outline-danger",
              "aria-label": `Reject ${s.name}`,
              text: "Reject",
              on: { click: () => decide(s.name, "DELETE", `karvdash/api/signups/${encodeURIComponent(s.name)}`, "Rejected") },
            }),
          ),
        ),
      ),
    );
  } catch (err) {
    say(signupsStatus, `Sign-ups cannot be shown: ${err.message}`, "warning");
  }
}

async function decide(name, method, path, done) {
  try {
    await hubCall(root.dataset.hub, method, path);
    say(signupsStatus, `${done} ${name}.`, "success");
  } catch (err) {
    say(signupsStatus, `${name}: ${err.message}`, "danger");
  }
  showSignups();
}

if (signups) showSignups();
