// Asking before doing something that cannot be undone: a modal <dialog> (keyboard:
// Tab moves between its buttons, Escape cancels; Cancel has the focus first).

import { el } from "./dom.js";

let count = 0;

export function confirmAction({ title, message, confirm = "OK", danger = true }) {
  count += 1;
  const heading = `karvdash-dialog-${count}`;
  return new Promise((resolve) => {
    const cancel = el("button", { value: "cancel", class: "btn btn-secondary", text: "Cancel" });
    const dialog = el(
      "dialog",
      { class: "karvdash-dialog", "aria-labelledby": heading },
      el(
        "form",
        { method: "dialog" },
        el("h2", { class: "h5", id: heading, text: title }),
        el("p", { text: message }),
        el(
          "div",
          { class: "karvdash-dialog-actions" },
          cancel,
          el("button", { value: "confirm", class: danger ? "btn btn-danger" : "btn btn-primary", text: confirm }),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
