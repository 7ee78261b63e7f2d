// A namespace's summary: whether it exists, how many services run, its quota.

import { Dashboard } from "./api.js";
import { el, fill, pageRoot, say } from "./dom.js";

const root = pageRoot();
const dashboard = new Dashboard(root);
const owner = root.dataset.owner !== root.dataset.me ? { user: root.dataset.owner } : {};

try {
  const ns = await dashboard.call("GET", "namespace", { query: owner });
  fill(
    document.getElementById("karvdash-summary"),
    el("dt", { class: "col-sm-3", text: "Namespace" }),
    el("dd", { class: "col-sm-9", text: ns.exists ? ns.namespace : `${ns.namespace} (not made yet)` }),
    el("dt", { class: "col-sm-3", text: "Services" }),
    el("dd", { class: "col-sm-9", text: String(ns.services) }),
  );
  const tbody = document.querySelector("#karvdash-quota tbody");
  fill(
    tbody,
    ns.quota.length
      ? ns.quota.map((q) => el("tr", {}, el("th", { scope: "row", text: q.resource }), el("td", { text: q.used }), el("td", { text: q.hard })))
      : el("tr", {}, el("td", { colspan: "3", class: "text-body-secondary", text: "No quota." })),
  );
} catch (err) {
  say(document.getElementById("karvdash-status"), `The namespace cannot be shown: ${err.message}`, "warning");
}
