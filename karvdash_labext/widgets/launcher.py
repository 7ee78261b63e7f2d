"""``Launcher``: launch a service from a template, in a form made from its variables.

Rules:

- The templates are the API's (``list_templates``: the built-in ones and the user's own);
  the form of the chosen one has a field per variable: a dropdown when the variable has
  ``choices``, else a checkbox for a boolean, a whole-number field for an integer, a text
  field for a string; each filled in with the default, its ``help`` beside it (and as its
  tooltip).
- Launching sends every field's value (``create_service``). An error of the API about one
  variable (its ``where`` is ``variables.<NAME>``) is shown in red under that field; any
  other under the Launch button. Nothing is launched when the API refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..client import KarvdashClient, KarvdashError
from .base import (
    ERROR,
    GOOD,
    MUTED,
    WARN,
    Background,
    View,
    client_of,
    close_tree,
    link,
    message_of,
    span,
)


def field_layout() -> w.Layout:
    return w.Layout(width="min(100%, 36em)")


LABEL = {"description_width": "12em"}


def field_for(variable: dict) -> w.ValueWidget:
    """The form field of a template's variable, filled in with its default."""
    name, default = variable["name"], variable.get("default")
    common = {
        "description": name,
        "tooltip": variable.get("help") or name,
        "style": LABEL,
        "layout": field_layout(),
    }
    choices = variable.get("choices")
    if choices:
        options = [str(c) for c in choices]
        value = str(default) if str(default) in options else options[0]
        return w.Dropdown(options=options, value=value, **common)
    kind = variable.get("type", "string")
    if kind == "boolean":
        return w.Checkbox(value=bool(default), indent=True, **common)
    if kind == "integer":
        return w.IntText(value=int(default or 0), **common)
    return w.Text(value="" if default is None else str(default), **common)


class Launcher(View):
    """Launch a service from a template: ``Launcher()`` in a notebook shows a template
    picker, the chosen template's form and a Launch button.

    From Python: ``templates`` (the API's list), ``select(template_id)`` (show its form),
    ``values()`` (the form's values), ``launch(template_id, **variables)`` (the API's
    answer; raises :class:`~karvdash_labext.client.KarvdashError`), ``on_launch(callback)``
    (called with the answer of each launch from the form)."""

    def __init__(self, client: KarvdashClient | None = None, template: str | None = None):
        self.client = client_of(client)
        self.background = Background()
        self.templates: list[dict] = self.client.list_templates()
        self.fields: dict[str, w.ValueWidget] = {}
        self.errors: dict[str, w.HTML] = {}
        self._callbacks: list[Callable[[dict], Any]] = []
        self.picker = w.Dropdown(
            description="Template",
            options=[(t["name"], t["id"]) for t in self.templates],
            style=LABEL,
            layout=field_layout(),
        )
        self.about = w.HTML()
        self.form = w.VBox()
        self.launch_button = w.Button(
            description="Launch", button_style="primary", icon="rocket", tooltip="Launch"
        )
        self.status = w.HTML()
        super().__init__(
            [self.picker, self.about, self.form, w.HBox([self.launch_button, self.status])]
        )
        self.picker.observe(lambda change: self._build(change.new), names="value")
        self.launch_button.on_click(lambda _: self._launch_form())
        if not self.templates:
            self.about.value = span("There are no templates: add one on the Templates page.")
            self.launch_button.disabled = True
        else:
            self.select(template or self.templates[0]["id"])

    @property
    def template_id(self) -> str | None:
        """The id of the template whose form is shown."""
        return self.picker.value

    def template(self, template_id: str) -> dict:
        for template in self.templates:
            if template["id"] == template_id:
                return template
        ids = ", ".join(t["id"] for t in self.templates)
        raise KarvdashError(
            0, "no-template", f"there is no template {template_id!r}; there are: {ids}"
        )

    def select(self, template_id: str) -> None:
        """Show the form of template ``template_id``."""
        self.template(template_id)
        if self.picker.value == template_id:
            self._build(template_id)
        else:
            self.picker.value = template_id

    def values(self) -> dict[str, Any]:
        """The form's values, by variable name."""
        return {name: field.value for name, field in self.fields.items()}

    def launch(self, template_id: str, **variables: Any) -> dict:
        """Launch ``template_id`` with ``variables`` (the template's defaults for the
        others): the API's answer ``{"name", "namespace", "url", "objects", ...}``."""
        return self.client.create_service(template_id, variables)

    def on_launch(self, callback: Callable[[dict], Any]) -> None:
        """Call ``callback(answer)`` after each launch from the form."""
        self._callbacks.append(callback)

    # -- the view

    def _build(self, template_id: str) -> None:
        template = self.template(template_id)
        for row in self.form.children:
            close_tree(row)
        self.fields, self.errors, rows = {}, {}, []
        for variable in template.get("variables", []):
            name = variable["name"]
            self.fields[name] = field_for(variable)
            self.errors[name] = w.HTML(layout=w.Layout(margin="0 0 0 12.5em"))
            help_text = w.HTML(span(variable.get("help", "")))
            rows.append(w.VBox([w.HBox([self.fields[name], help_text]), self.errors[name]]))
        self.form.children = rows
        notes = [template.get("description", "")]
        if template.get("singleton"):
            notes.append("Runs once per user.")
        self.about.value = (
            f'<div style="margin: 0 0 8px 12.5em">{span(" ".join(n for n in notes if n))}</div>'
        )
        self.status.value = ""

    def _launch_form(self) -> None:
        template_id, values = self.template_id, self.values()
        for error in self.errors.values():
            error.value = ""
        name = values.get("NAME", template_id)
        self.background.run(
            lambda: self.launch(template_id, **values),
            busy=[self.launch_button, self.picker],
            status=self.status,
            doing=f"Launching {name}…",
            done=self._launched,
            failed=self._failed,
        )

    def _launched(self, answer: dict) -> None:
        parts = [span(f"Launched {answer.get('name')}", GOOD)]
        if answer.get("url"):
            parts.append(link(answer["url"]))
        if answer.get("warning"):
            parts.append(span(answer["warning"], WARN))
        parts.append(span("(see Services)", MUTED))
        self.status.value = " ".join(parts)
        for callback in self._callbacks:
            callback(answer)

    def _failed(self, err: BaseException) -> None:
        where = err.where if isinstance(err, KarvdashError) else None
        name = where.partition(".")[2] if where and where.startswith("variables.") else None
        if name in self.errors:
            self.errors[name].value = span(err.message, ERROR)
            self.status.value = span(f"Nothing was launched: correct {name} above.", ERROR)
        elif isinstance(err, KarvdashError) and err.status:
            self.status.value = span(f"Nothing was launched: {err.message}", ERROR)
        else:
            self.status.value = span(f"The launch failed: {message_of(err)}", ERROR)
