// Admins' users page: sign-ups waiting for approval (approve, reject), every user with
// their role (promote, demote: JupyterHub's REST API), their access (deactivate,
// reactivate), and links to the hub's own pages for a password reset and deletion, and to
// their namespace's summary.

import { confirmAction } from "./dialog.js";
import { ago, el, fill, pageRoot, say } from "./dom.js";
import { allUsers, hubCall } from "./hub.js";

const root = pageRoot();
const hub = root.dataset.hub;
const me = root.dataset.me;
const native = root.dataset.native === "true";
const status = document.getElementById("karvdash-status");
const q = encodeURIComponent;

function button(label, name, kind, action) {
  return el("button", {
    type: "button",
    class: `btn btn-sm ${kind}`,
    "aria-label": `${label} ${name}`,
    text: label,
    on: { click: action },
  });
}

function link(label, name, href, kind = "btn-outline-secondary") {
  return el("a", { class: `btn btn-sm ${kind}`, href, "aria-label": `${label} ${name}`, text: label });
}

async function act(done, call, question) {
  if (question && !(await confirmAction(question))) return;
  try {
    await call();
    say(status, done, "success");
  } catch (err) {
    say(status, err.message, "danger");
  }
  load();
}

function pendingRow(s) {
  return el(
    "tr",
    { dataset: { user: s.name } },
    el("th", { scope: "row", text: s.name }),
    el(
      "td",
      { class: "karvdash-actions justify-content-end" },
      button("Approve", s.name, "btn-primary", () =>
        act(`Approved ${s.name}.`, () => hubCall(hub, "PUT", `karvdash/api/approvals/${q(s.name)}`)),
      ),
      button("Reject", s.name, "btn-outline-danger", () =>
        act(`Rejected ${s.name}.`, () => hubCall(hub, "DELETE", `karvdash/api/signups/${q(s.name)}`), {
          title: `Reject ${s.name}?`,
          message: "The sign-up is deleted; they may sign up again.",
          confirm: "Reject",
        }),
      ),
    ),
  );
}

function userRow(u, approved) {
  const self = u.name === me;
  const actions = [];
  if (u.hub && !self) {
    actions.push(
      u.admin
        ? button("Demote", u.name, "btn-outline-secondary", () =>
            act(`${u.name} is no longer an admin.`, () => hubCall(hub, "PATCH", `api/users/${q(u.name)}`, { admin: false }), {
              title: `Demote ${u.name}?`,
              message: "They keep their account, but lose the admin role.",
              confirm: "Demote",
            }),
          )
        : button("Promote", u.name, "btn-outline-primary", () =>
            act(`${u.name} is an admin now.`, () => hubCall(hub, "PATCH", `api/users/${q(u.name)}`, { admin: true }), {
              title: `Make ${u.name} an admin?`,
              message: "Admins manage every user, server and service.",
              confirm: "Promote",
              danger: false,
            }),
          ),
    );
  }
  if (native && !self) {
    actions.push(
      approved
        ? button("Deactivate", u.name, "btn-outline-warning", () =>
            act(`${u.name} is deactivated.`, () => hubCall(hub, "DELETE", `karvdash/api/approvals/${q(u.name)}`), {
              title: `Deactivate ${u.name}?`,
              message:
                "They are logged out everywhere at once, their tokens stop working and their server stops. Their services keep running and their files stay.",
              confirm: "Deactivate",
            }),
          )
        : button("Reactivate", u.name, "btn-outline-primary", () =>
            act(`${u.name} may log in again.`, () => hubCall(hub, "PUT", `karvdash/api/approvals/${q(u.name)}`)),
          ),
      link("Reset password", u.name, `${hub}change-password/${q(u.name)}`),
    );
  }
  actions.push(link("Namespace", u.name, `${root.dataset.prefix}namespace?user=${q(u.name)}`));
  if (!self) actions.push(link("Delete", u.name, `${hub}karvdash/delete-user/${q(u.name)}?next=users`, "btn-outline-danger"));
  return el(
    "tr",
    { dataset: { user: u.name } },
    el("th", { scope: "row" }, u.name, self ? el("span", { class: "text-body-secondary", text: " (you)" }) : null),
    el("td", {}, el("span", { class: u.admin ? "badge text-bg-primary" : "badge text-bg-light", text: u.admin ? "admin" : "user" })),
    el("td", {}, el("span", { class: approved ? "text-success" : "text-danger fw-bold", text: approved ? "active" : "deactivated" })),
    el("td", { text: !u.hub ? "never logged in" : u.server ? "running" : "stopped" }),
    el("td", {}, u.last_activity ? ago(u.last_activity) : "never"),
    el("td", { class: "karvdash-actions justify-content-end" }, actions),
  );
}

async function load() {
  try {
    const [users, signups] = await Promise.all([
      allUsers(hub),
      native ? hubCall(hub, "GET", "karvdash/api/signups") : Promise.resolve([]),
    ]);
    const approval = new Map(signups.map((s) => [s.name, s.approved]));
    const known = new Set(users.map((u) => u.name));
    if (native) {
      const pending = signups.filter((s) => !s.approved && !known.has(s.name));
      fill(
        document.querySelector("#karvdash-pending tbody"),
        pending.length
          ? pending.map(pendingRow)
          : el("tr", {}, el("td", { colspan: "2", class: "text-body-secondary", text: "Nobody is waiting." })),
      );
    }
    // approved sign-ups who never logged in are users too (the hub knows them at their first login)
    const rows = [
      ...users.map((u) => ({ ...u, hub: true })),
      ...signups.filter((s) => s.approved && !known.has(s.name)).map((s) => ({ name: s.name, admin: false, hub: false })),
    ].sort((a, b) => a.name.localeCompare(b.name));
    fill(
      document.querySelector("#karvdash-users tbody"),
      rows.map((u) => userRow(u, !native || approval.get(u.name) !== false)),
    );
  } catch (err) {
    say(status, `The users cannot be shown: ${err.message}`, "danger");
  }
}

load();
