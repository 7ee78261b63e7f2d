// A service's page: its status, objects and pods, recent events (refreshed), the end of
// its containers' logs (on demand), Stop.

import { Dashboard } from "./api.js";
import { confirmAction } from "./dialog.js";
import { ago, el, fill, ownerQuery, pageRoot, say } from "./dom.js";

const REFRESH_MS = 10000;
const root = pageRoot();
const dashboard = new Dashboard(root);
const name = document.getElementById("karvdash-service").dataset.name;
const path = `services/${encodeURIComponent(name)}`;
const owner = root.dataset.owner !== root.dataset.me ? { user: root.dataset.owner } : {};
const status = document.getElementById("karvdash-status");
let timer = null;

function rows(tbody, items, cells, empty) {
  if (!items.length) {
    fill(tbody, el("tr", {}, el("td", { colspan: "6", class: "text-body-secondary", text: empty })));
    return;
  }
  fill(tbody, items.map((item) => el("tr", {}, cells(item))));
}

function summary(service) {
  const entries = [
    ["Template", service.template_name || service.template],
    ["Status", `${service.status.ready}/${service.status.total} ready, ${service.status.phase}`],
    ["Namespace", service.namespace],
    ["Created", ago(service.created)],
  ];
  if (service.url) {
    entries.push(["Address", el("a", { href: service.url, target: "_blank", rel: "noopener noreferrer", text: service.url })]);
  }
  if (service.values) {
    const shown = Object.entries(service.values).map(([name, value]) =>
      el("div", {}, el("code", { text: name }), " = ", value === null ? el("em", { text: "secret, not kept" }) : el("code", { text: String(value) })),
    );
    entries.push(["Launched with", el("div", { class: "karvdash-values" }, shown)]);
    const again = document.getElementById("karvdash-relaunch");
    const query = new URLSearchParams({ from: service.name, ...(owner || {}) });
    again.href = `${root.dataset.prefix}templates/${encodeURIComponent(service.template)}?${query}`;
    again.classList.remove("d-none");
  }
  fill(
    document.getElementById("karvdash-summary"),
    entries.flatMap(([term, value]) => [
      el("dt", { class: "col-sm-3", text: term }),
      el("dd", { class: "col-sm-9" }, value),
    ]),
  );
  const open = document.getElementById("karvdash-open");
  if (service.url) {
    open.href = service.url;
    open.classList.remove("d-none");
  }
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [service, events] = await Promise.all([
      dashboard.call("GET", path, { query: owner }),
      dashboard.call("GET", `${path}/events`, { query: owner }),
    ]);
    summary(service);
    rows(document.querySelector("#karvdash-objects tbody"), service.objects, (o) => [
      el("td", { text: o.kind }),
      el("td", { text: o.name }),
      el("td", { text: o.status }),
    ], "No objects.");
    rows(document.querySelector("#karvdash-pods tbody"), service.pods, (p) => [
      el("td", { text: p.name }),
      el("td", { text: `${p.ready}/${p.total}` }),
      el("td", { text: p.phase }),
      el("td", { text: String(p.restarts) }),
    ], "No pods.");
    rows(document.querySelector("#karvdash-events tbody"), events, (e) => [
      el("td", { class: "text-nowrap" }, e.last ? ago(e.last) : ""),
      el("td", {}, el("span", { class: e.type === "Warning" ? "badge text-bg-warning" : "badge text-bg-secondary", text: e.type })),
      el("td", { text: e.reason }),
      el("td", { text: e.object }),
      el("td", { class: "karvdash-message", text: e.count > 1 ? `${e.message} (×${e.count})` : e.message }),
    ], "No recent events.");
    say(status, "");
  } catch (err) {
    if (err.status === 404) {
      say(status, `${name} is not running any more.`, "info");
      return;
    }
    say(status, `This page cannot be updated: ${err.message}`, "warning");
  }
  if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
}

async function logs() {
  const box = document.getElementById("karvdash-logs");
  const lines = document.getElementById("karvdash-lines").value;
  fill(box, el("p", { class: "text-body-secondary", text: "Reading the logs…" }));
  try {
    const entries = await dashboard.call("GET", `${path}/logs`, { query: { ...owner, lines } });
    if (!entries.length) {
      fill(box, el("p", { class: "text-body-secondary", text: "No pods, so no logs." }));
      return;
    }
    fill(
      box,
      entries.map((entry) =>
        el(
          "div",
          { class: "karvdash-log" },
          el("h3", { class: "h6", text: `${entry.pod} · ${entry.container}` }),
          entry.truncated ? el("p", { class: "small text-body-secondary", text: "Older lines are left out." }) : null,
          entry.error
            ? el("p", { class: "text-body-secondary", text: entry.error })
            : el("pre", { class: "karvdash-log-text", tabindex: "0", "aria-label": `Log of ${entry.pod} ${entry.container}`, text: entry.log || "(empty)" }),
        ),
      ),
    );
  } catch (err) {
    fill(box, el("p", { class: "text-danger", text: `The logs cannot be read: ${err.message}` }));
  }
}

document.getElementById("karvdash-logs-form").addEventListener("submit", (event) => {
  event.preventDefault();
  logs();
});

document.getElementById("karvdash-run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const box = document.getElementById("karvdash-run-output");
  const text = document.getElementById("karvdash-run-command").value;
  fill(box, el("p", { class: "text-body-secondary", text: "Running…" }));
  try {
    const body = { command: ["sh", "-c", text], ...owner };
    const results = await dashboard.call("POST", `${path}/exec`, { body, timeout: 45000 });
    fill(
      box,
      results.map((r) => {
        const state = r.timed_out ? "timed out" : r.exit_code === null ? "did not run" : `exit ${r.exit_code}`;
        return el(
          "div",
          { class: "karvdash-log karvdash-run-result" },
          el("div", { class: "karvdash-log-head", text: `${r.pod} · ${r.container} · ${state}${r.truncated ? " · output cut" : ""}` }),
          el("pre", { class: "karvdash-log-text", tabindex: "0", text: r.error || r.output || "(no output)" }),
        );
      }),
    );
  } catch (err) {
    fill(box, el("p", { class: "text-danger", text: `The command did not run: ${err.message}` }));
  }
});

document.getElementById("karvdash-stop").addEventListener("click", async () => {
  const yes = await confirmAction({
    title: `Stop ${name}?`,
    message: "Everything the service created is deleted, its own volumes too. Files in /private and /shared stay.",
    confirm: "Stop",
  });
  if (!yes) return;
  try {
    await dashboard.call("DELETE", path, { query: owner });
    window.location.assign(`${root.dataset.prefix}services${ownerQuery(root)}`);
  } catch (err) {
    say(status, `Could not stop ${name}: ${err.message}`, "danger");
  }
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
  else clearTimeout(timer);
});

refresh();
logs();
