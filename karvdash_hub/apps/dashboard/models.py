"""Request bodies of the dashboard's API, validated by pydantic models.

A body that does not fit its model is an :class:`ApiError` whose reason is the one the
model names for the field at fault (``missing-template``, ``bad-user``, ...), so a
client learns which field to fix.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, ValidationError

from ...errors import ApiError

NonEmpty = Annotated[str, StringConstraints(strict=True, min_length=1)]
Text = Annotated[str, StringConstraints(strict=True)]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")
    #: field -> (reason, message) when that field is wrong
    problems: ClassVar[dict[str, tuple[str, str]]] = {}

    @classmethod
    def parse(cls, data: dict):
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            field = str(err.errors()[0]["loc"][0]) if err.errors()[0]["loc"] else ""
            reason, message = cls.problems.get(field, ("bad-request", str(err)))
            raise ApiError(reason, message) from None


_USER = ("bad-user", '"user" must be a user name')


class Launch(Body):
    """POST services: which template, with which variables, for whom."""

    template: NonEmpty
    variables: Any = Field(default_factory=dict)
    user: Text | None = None
    problems = {
        "template": ("missing-template", 'say which template to launch: {"template": ID}'),
        "user": _USER,
    }


class AddTemplate(Body):
    """POST templates as JSON: the template's YAML, its id (optional), for whom."""

    data: Any = None
    id: Text | None = None
    user: Text | None = None
    problems = {
        "id": ("bad-template-id", '"id" must be text: lower-case letters, digits, "-"'),
        "user": _USER,
    }


class FileAction(Body):
    """POST files/{domain}/{path}: make a folder there, or move or copy what is there."""

    action: Literal["mkdir", "move", "copy"]
    parents: StrictBool = False
    to: Text | None = None
    to_domain: Literal["private", "shared"] | None = None
    overwrite: StrictBool = False
    problems = {
        "action": ("bad-request", '"action" is "mkdir", "move" or "copy"'),
        "to": ("bad-path", '"to" is the destination path, relative to its domain'),
        "to_domain": ("bad-request", '"to_domain" is "private" or "shared"'),
        "parents": ("bad-request", '"parents" is true or false'),
        "overwrite": ("bad-request", '"overwrite" is true or false'),
    }


class NewUpload(Body):
    """POST uploads: where a resumable upload goes and how big it is."""

    domain: Literal["private", "shared"]
    path: NonEmpty
    size: Annotated[int, Field(strict=True, ge=0)]
    overwrite: StrictBool = False
    parents: StrictBool = False
    user: Text | None = None
    problems = {
        "domain": ("bad-request", '"domain" is "private" or "shared"'),
        "path": ("bad-path", '"path" is where the file goes, relative to its domain'),
        "size": ("bad-request", '"size" is the whole file\'s size in bytes'),
        "overwrite": ("bad-request", '"overwrite" is true or false'),
        "parents": ("bad-request", '"parents" is true or false'),
        "user": _USER,
    }
