"""The installation's look: title, logo, colours and links, in one place (``c.Branding``).

Read by the hub (its pages, the logo JupyterHub serves at ``/hub/logo``) and by the
dashboard service (which gets the same section of the hub's configuration), so that every
page of an installation carries the same name and colours.

- :class:`Branding` holds the settings; :meth:`Branding.stylesheet` is the CSS that applies
  the colours over JupyterHub's own stylesheet (served as a file: pages allow no inline
  styles); :meth:`Branding.template_vars` is what page templates read.
- A colour is checked when it is set: ``#rgb``, ``#rrggbb``, ``rgb()``/``hsl()`` with
  numbers, or a CSS colour keyword. Nothing else reaches the stylesheet, so a setting
  cannot add CSS rules.
"""

from __future__ import annotations

import re
from pathlib import Path

from traitlets import TraitError, Unicode, default, validate
from traitlets.config import Configurable

from . import __version__

STATIC = Path(__file__).parent / "static"
DEFAULT_LOGO = STATIC / "logo.svg"

_COLOUR = re.compile(
    r"#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}"
    r"|(?:rgb|hsl)a?\(\s*[0-9.%]+(?:\s*[, ]\s*[0-9.%]+){2,3}\s*\)"
    r"|[a-zA-Z]{3,20}"
)


def check_colour(value: str) -> str:
    """``value`` when it is a plain CSS colour (or empty), else a ValueError."""
    value = value.strip()
    if value and not _COLOUR.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a colour: use #rrggbb, #rgb, rgb(r, g, b) or a CSS colour name"
        )
    return value


def stylesheet(primary: str = "", navbar: str = "", navbar_text: str = "") -> str:
    """CSS that gives JupyterHub's (Bootstrap's) primary elements and the navigation bar
    these colours; checked colours only (empty: left as JupyterHub has them)."""
    primary, navbar, navbar_text = map(check_colour, (primary, navbar, navbar_text))
    rules = ["/* Karvdash branding: generated from c.Branding */"]
    if primary:
        rules.append(
            ":root, [data-bs-theme] {\n"
            f"  --bs-primary: {primary};\n"
            f"  --bs-link-color: {primary};\n"
            f"  --bs-link-hover-color: {primary};\n"
            f"  --karvdash-primary: {primary};\n"
            "}\n"
            ".btn-primary {\n"
            f"  --bs-btn-bg: {primary};\n"
            f"  --bs-btn-border-color: {primary};\n"
            f"  --bs-btn-hover-bg: {primary};\n"
            f"  --bs-btn-hover-border-color: {primary};\n"
            f"  --bs-btn-active-bg: {primary};\n"
            f"  --bs-btn-active-border-color: {primary};\n"
            f"  --bs-btn-disabled-bg: {primary};\n"
            f"  --bs-btn-disabled-border-color: {primary};\n"
            "}\n"
            ".btn-outline-primary {\n"
            f"  --bs-btn-color: {primary};\n"
            f"  --bs-btn-border-color: {primary};\n"
            f"  --bs-btn-hover-bg: {primary};\n"
            f"  --bs-btn-hover-border-color: {primary};\n"
            "}"
        )
    if navbar:
        rules.append(f"nav.navbar {{\n  background-color: {navbar} !important;\n}}")
    if navbar_text:
        rules.append(
            f"nav.navbar .nav-link, nav.navbar .navbar-brand, nav.navbar #login_widget {{\n"
            f"  color: {navbar_text};\n}}"
        )
    return "\n".join(rules) + "\n"


class Branding(Configurable):
    """How the installation presents itself (``c.Branding.*``)."""

    title = Unicode(
        "Karvdash",
        config=True,
        help="The installation's name: in every page's title and navigation bar, and on"
        " the About page.",
    )
    logo_file = Unicode(
        config=True,
        help="Image file of the installation's logo (SVG, PNG), shown at the left of the"
        " navigation bar of every page (the hub serves it at /hub/logo). Default: the"
        " Karvdash logo shipped with the package.",
    )
    primary_colour = Unicode(
        "",
        config=True,
        help="Colour of buttons and links (#rrggbb, rgb(), or a CSS colour name). Empty:"
        " JupyterHub's.",
    )
    navbar_colour = Unicode(
        "", config=True, help="Background colour of the navigation bar. Empty: JupyterHub's."
    )
    navbar_text_colour = Unicode(
        "", config=True, help="Colour of the navigation bar's text. Empty: JupyterHub's."
    )
    docs_url = Unicode(
        "https://github.com/CARV-ICS-FORTH/karvdash",
        config=True,
        help="Where the documentation of the installation is (linked from the About page).",
    )
    support = Unicode(
        "",
        config=True,
        help="Who to ask for help (text, e.g. an e-mail address), shown on the About page."
        " Empty: not shown.",
    )

    @default("logo_file")
    def _logo_file_default(self):
        return str(DEFAULT_LOGO)

    @validate("primary_colour", "navbar_colour", "navbar_text_colour")
    def _check_colour(self, proposal):
        try:
            return check_colour(proposal["value"])
        except ValueError as err:
            raise TraitError(f"Branding.{proposal['trait'].name}: {err}") from None

    @validate("docs_url")
    def _check_url(self, proposal):
        value = proposal["value"].strip()
        if value and not value.startswith(("https://", "http://", "/")):
            raise TraitError("Branding.docs_url must be an http(s) URL or a path")
        return value

    def stylesheet(self) -> str:
        return stylesheet(self.primary_colour, self.navbar_colour, self.navbar_text_colour)

    def template_vars(self) -> dict:
        """What page templates read as ``branding``."""
        return {
            "title": self.title,
            "docs_url": self.docs_url,
            "support": self.support,
            "version": __version__,
        }
