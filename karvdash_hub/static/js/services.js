// The services page: the user's services, refreshed every few seconds while the page is
// visible, with Stop.

import { Dashboard } from "./api.js";
import { pageRoot, say } from "./dom.js";
import { ServiceTable, stopService } from "./servicelist.js";

const REFRESH_MS = 5000;
const root = pageRoot();
const dashboard = new Dashboard(root);
const status = document.getElementById("karvdash-status");
const updated = document.getElementById("karvdash-updated");
const owner = root.dataset.owner !== root.dataset.me ? { user: root.dataset.owner } : {};
let timer = null;

const table = new ServiceTable(
  document.querySelector("#karvdash-services tbody"),
  root,
  async (name) => {
    if (await stopService(dashboard, name, owner, (m, k) => say(status, m, k))) refresh();
  },
);

async function refresh() {
  clearTimeout(timer);
  try {
    table.show(await dashboard.call("GET", "services", { query: owner }));
    updated.textContent = `Updated at ${new Date().toLocaleTimeString()}.`;
    if (status.dataset.trouble) {
      delete status.dataset.trouble;
      say(status, "");
    }
  } catch (err) {
    status.dataset.trouble = "1";
    say(status, `The list cannot be updated: ${err.message}. Trying again shortly.`, "warning");
  }
  if (!document.hidden) timer = setTimeout(refresh, REFRESH_MS);
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) refresh();
  else clearTimeout(timer);
});

refresh();
