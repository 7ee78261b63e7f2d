// The table of a user's services (the services page and the hub's home page): rows are
// kept by name and only rebuilt when their data changed, so a refresh does not move the
// keyboard focus or the scroll position.

import { confirmAction } from "./dialog.js";
import { age, ago, el, fill, ownerQuery } from "./dom.js";

function statusCell(status) {
  const healthy = status.total > 0 && status.ready === status.total;
  const kind = healthy ? "success" : status.phase === "Failed" ? "danger" : "warning";
  return el(
    "td",
    {},
    el("span", { class: `badge text-bg-${kind}`, text: `${status.ready}/${status.total} ready` }),
    " ",
    el("span", { class: "karvdash-phase", text: status.phase }),
    status.warning
      ? el("div", { class: "small text-danger karvdash-warning karvdash-clamp", text: status.warning })
      : null,
  );
}

function addressCell(url) {
  if (!url) return el("td", {}, el("span", { class: "text-body-secondary", text: "none" }));
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  return el("td", {}, el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: host }));
}

function row(service, { root, onStop }) {
  const link = `${root.dataset.prefix}services/${encodeURIComponent(service.name)}${ownerQuery(root)}`;
  return el(
    "tr",
    { dataset: { service: service.name } },
    el("th", { scope: "row" }, el("a", { href: link, text: service.name })),
    el("td", {}, el("span", { class: "karvdash-clamp", text: service.template_name || service.template || "" })),
    statusCell(service.status),
    addressCell(service.url),
    el("td", {}, ago(service.created)),
    el(
      "td",
      { class: "text-end" },
      el("button", {
        type: "button",
        class: "btn btn-sm btn-outline-danger",
        "aria-label": `Stop ${service.name}`,
        text: "Stop",
        on: { click: () => onStop(service.name) },
      }),
    ),
  );
}

export class ServiceTable {
  constructor(tbody, root, onStop) {
    this.tbody = tbody;
    this.root = root;
    this.onStop = onStop;
    this.rows = new Map();
  }

  show(services) {
    if (!services.length) {
      this.rows.clear();
      fill(this.tbody, el("tr", {}, el("td", { colspan: "6", class: "text-body-secondary", text: "No services yet." })));
      return;
    }
    const kept = new Map();
    const ordered = services.map((service) => {
      const key = JSON.stringify(service);
      const old = this.rows.get(service.name);
      const node = old && old.key === key ? old.node : row(service, this);
      kept.set(service.name, { key, node });
      return node;
    });
    this.rows = kept;
    const current = Array.from(this.tbody.children);
    if (current.length !== ordered.length || current.some((node, i) => node !== ordered[i])) {
      // replaceChildren would move a focused row's button: only place what changed
      ordered.forEach((node, i) => {
        if (this.tbody.children[i] !== node) this.tbody.insertBefore(node, this.tbody.children[i] || null);
      });
      while (this.tbody.children.length > ordered.length) this.tbody.lastElementChild.remove();
    }
    for (const time of this.tbody.querySelectorAll("time")) time.textContent = age(time.dateTime).text;
  }

  unavailable(message) {
    this.rows.clear();
    fill(this.tbody, el("tr", {}, el("td", { colspan: "6", class: "text-body-secondary", text: message })));
  }
}

/** Ask, stop the service through the API, and say what happened. */
export async function stopService(dashboard, name, owner, say) {
  const yes = await confirmAction({
    title: `Stop ${name}?`,
    message: "Everything the service created is deleted, its own volumes too. Files in /private and /shared stay.",
    confirm: "Stop",
  });
  if (!yes) return false;
  try {
    const stopped = await dashboard.call("DELETE", `services/${encodeURIComponent(name)}`, { query: owner });
    say(`Stopped ${stopped.name} (${stopped.deleted.length} objects deleted).`, "success");
    return true;
  } catch (err) {
    say(`Could not stop ${name}: ${err.message}`, "danger");
    return false;
  }
}
