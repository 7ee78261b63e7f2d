// Admins: the applications that log users in through the identity service (api/clients):
// register one (its secret is shown once), disable or enable, trust or not, give it a new
// secret, delete. Applications of the hub's configuration are shown, not changed.

import { Dashboard } from "./api.js";
import { confirmAction } from "./dialog.js";
import { el, fill, pageRoot, say } from "./dom.js";

const dashboard = new Dashboard(pageRoot());
const status = document.getElementById("karvdash-status");
const form = document.getElementById("karvdash-register-form");
const formError = document.getElementById("karvdash-register-error");
const secretBox = document.getElementById("karvdash-new-secret");
const tbody = document.querySelector("#karvdash-clients tbody");

function copyButton(text, label) {
  return el("button", {
    type: "button",
    class: "btn btn-sm btn-outline-secondary ms-2",
    text: "Copy",
    "aria-label": label,
    on: { click: () => navigator.clipboard && navigator.clipboard.writeText(text) },
  });
}

/** The answer that holds a secret: shown once, until the page is left. */
function showSecret(client) {
  fill(
    secretBox,
    el(
      "div",
      { class: "alert alert-warning mt-3 karvdash-secret", role: "alert" },
      el("p", { class: "mb-1" }, el("strong", { text: `${client.name}: ` }), "copy the secret now; it is not shown again."),
      el("p", { class: "mb-1" }, "Client ID: ", el("code", { class: "karvdash-client-id", text: client.client_id }), copyButton(client.client_id, "Copy the client ID")),
      el("p", { class: "mb-0" }, "Client secret: ", el("code", { class: "karvdash-client-secret", text: client.client_secret }), copyButton(client.client_secret, "Copy the secret")),
    ),
  );
}

async function act(what, run) {
  try {
    const answer = await run();
    say(status, "");
    await refresh();
    return answer;
  } catch (err) {
    say(status, `${what}: ${err.message}`, "danger");
    return null;
  }
}

function actions(client) {
  if (client.source === "config") {
    return el("span", { class: "text-body-secondary small", text: "from the hub's configuration" });
  }
  const id = encodeURIComponent(client.client_id);
  const buttons = [
    el("button", {
      type: "button",
      class: "btn btn-sm btn-outline-secondary",
      text: client.disabled ? "Enable" : "Disable",
      on: { click: () => act(`${client.name}`, () => dashboard.call("PATCH", `clients/${id}`, { body: { disabled: !client.disabled } })) },
    }),
    el("button", {
      type: "button",
      class: "btn btn-sm btn-outline-secondary",
      text: client.trusted ? "Ask for consent" : "Trust",
      on: { click: () => act(`${client.name}`, () => dashboard.call("PATCH", `clients/${id}`, { body: { trusted: !client.trusted } })) },
    }),
  ];
  if (!client.public) {
    buttons.push(
      el("button", {
        type: "button",
        class: "btn btn-sm btn-outline-secondary",
        text: "New secret",
        on: {
          click: async () => {
            const ok = await confirmAction({
              title: `A new secret for ${client.name}?`,
              message: "The current secret stops working at once, and the application's users are signed out of it until it has the new one.",
              confirm: "Make a new secret",
            });
            if (!ok) return;
            const answer = await act(client.name, () => dashboard.call("POST", `clients/${id}/secret`));
            if (answer) showSecret(answer);
          },
        },
      }),
    );
  }
  buttons.push(
    el("button", {
      type: "button",
      class: "btn btn-sm btn-outline-danger",
      text: "Delete",
      on: {
        click: async () => {
          const ok = await confirmAction({
            title: `Delete ${client.name}?`,
            message: "It can no longer log anyone in; its tokens and its users' consents are deleted.",
            confirm: "Delete",
          });
          if (ok) act(client.name, () => dashboard.call("DELETE", `clients/${id}`));
        },
      },
    }),
  );
  return el("div", { class: "karvdash-row-actions" }, buttons);
}

function row(client) {
  const kind = client.public ? "public (PKCE)" : "confidential";
  const state = [client.disabled ? "disabled" : "enabled", client.trusted ? "trusted" : "asks for consent"].join(", ");
  return el(
    "tr",
    { dataset: { client: client.client_id }, class: client.disabled ? "text-body-secondary" : "" },
    el("th", { scope: "row", text: client.name }),
    el("td", {}, el("code", { text: client.client_id })),
    el("td", {}, client.redirect_uris.map((uri) => el("div", {}, el("code", { text: uri })))),
    el("td", { text: kind }),
    el("td", { class: "karvdash-client-state", text: state }),
    el("td", {}, actions(client)),
  );
}

async function refresh() {
  const { clients } = await dashboard.call("GET", "clients");
  fill(
    tbody,
    clients.length
      ? clients.map(row)
      : el("tr", {}, el("td", { colspan: "6", class: "text-body-secondary", text: "No application yet." })),
  );
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  fill(formError);
  const body = {
    name: form.elements.name.value.trim(),
    redirect_uris: form.elements.redirect_uris.value.split("\n").map((u) => u.trim()).filter(Boolean),
    public: form.elements.public.checked,
    trusted: form.elements.trusted.checked,
  };
  try {
    const client = await dashboard.call("POST", "clients", { body });
    form.reset();
    if (client.client_secret) showSecret(client);
    else fill(secretBox, el("div", { class: "alert alert-success mt-3", role: "status" }, `${client.name} is registered as a public client: `, el("code", { class: "karvdash-client-id", text: client.client_id })));
    await refresh();
  } catch (err) {
    fill(formError, el("div", { class: "alert alert-danger mt-2 mb-2", text: err.message }));
  }
});

refresh().catch((err) => say(status, `The applications cannot be shown: ${err.message}`, "warning"));
