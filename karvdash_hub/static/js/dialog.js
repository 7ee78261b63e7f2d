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

/**
 * A modal form that stays open until what it asks for is done: `fields` are
 * `{name, label, value, help, type}` (type "text", the default, or "checkbox");
 * `submit(values)` does the work and resolves to what the dialog resolves to; when it
 * throws, its message is shown in the dialog, under the first field, and the user can
 * correct and try again. Resolves to null when cancelled (Cancel, Escape).
 * `select(value)`: the part of the first field's text selected at first, `[start, end]`.
 */
export function formDialog({ title, message, fields, confirm = "OK", submit, select }) {
  count += 1;
  const id = `karvdash-dialog-${count}`;
  const inputs = fields.map((field, i) => {
    const fid = `${id}-${field.name}`;
    const checkbox = field.type === "checkbox";
    const described = [field.help ? `${fid}-help` : "", i === 0 ? `${id}-error` : ""].join(" ").trim();
    const input = el("input", {
      id: fid,
      name: field.name,
      type: checkbox ? "checkbox" : "text",
      class: checkbox ? "form-check-input" : "form-control",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": described || undefined,
    });
    if (checkbox) input.checked = Boolean(field.value);
    else input.value = field.value || "";
    const help = field.help ? el("div", { class: "form-text", id: `${fid}-help`, text: field.help }) : null;
    const label = el("label", { class: checkbox ? "form-check-label" : "form-label", for: fid, text: field.label });
    const box = checkbox
      ? el("div", { class: "form-check mb-3" }, input, label, help)
      : el("div", { class: "mb-3" }, label, input, help);
    return { field, input, box };
  });
  const error = el("div", { class: "invalid-feedback", id: `${id}-error`, role: "alert" });
  inputs[0].box.append(error);
  const cancel = el("button", { type: "button", class: "btn btn-secondary", text: "Cancel" });
  const ok = el("button", { type: "submit", class: "btn btn-primary", text: confirm });
  const form = el(
    "form",
    { novalidate: true },
    el("h2", { class: "h5", id, text: title }),
    message ? el("p", { text: message }) : null,
    inputs.map((i) => i.box),
    el("div", { class: "karvdash-dialog-actions" }, cancel, ok),
  );
  const dialog = el("dialog", { class: "karvdash-dialog", "aria-labelledby": id }, form);
  const first = inputs[0].input;
  return new Promise((resolve) => {
    let result = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(
        inputs.map(({ field, input }) => [field.name, input.type === "checkbox" ? input.checked : input.value]),
      );
      ok.disabled = true;
      error.textContent = "";
      first.classList.remove("is-invalid");
      first.removeAttribute("aria-invalid");
      try {
        result = await submit(values);
        dialog.close();
      } catch (err) {
        error.textContent = err.message;
        first.classList.add("is-invalid");
        first.setAttribute("aria-invalid", "true");
        first.focus();
      } finally {
        ok.disabled = false;
      }
    });
    dialog.addEventListener("close", () => {
      resolve(result);
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    first.focus();
    if (select && first.type === "text") first.setSelectionRange(...select(first.value));
  });
}

/**
 * A question with a few answers: `choices` are `{value, label, kind}` (kind: a Bootstrap
 * button colour), the first has the focus; `remember`, when given, is a checkbox's label
 * ("do the same for the others"). Resolves to `{value, all}`; Escape answers `dismiss`.
 */
export function choose({ title, message, choices, remember, dismiss }) {
  count += 1;
  const id = `karvdash-dialog-${count}`;
  const all = remember ? el("input", { type: "checkbox", class: "form-check-input", id: `${id}-all` }) : null;
  const buttons = choices.map((c) =>
    el("button", { value: c.value, class: `btn btn-${c.kind || "secondary"}`, text: c.label }),
  );
  const dialog = el(
    "dialog",
    { class: "karvdash-dialog", "aria-labelledby": id },
    el(
      "form",
      { method: "dialog" },
      el("h2", { class: "h5", id, text: title }),
      el("p", { text: message }),
      all
        ? el("div", { class: "form-check mb-3" }, all, el("label", { class: "form-check-label", for: all.id, text: remember }))
        : null,
      el("div", { class: "karvdash-dialog-actions" }, buttons),
    ),
  );
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve({ value: dialog.returnValue || dismiss, all: Boolean(all && all.checked) });
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    buttons[0].focus();
  });
}
