"""karvdashctl's image commands: ``images``, ``tags``, ``push``, ``rmi``.

Images are named as the registry names them, without its host: ``alice/hello:1`` (your
own are under your namespace, ``library/`` is everyone's); a template names them
``$REGISTRY/alice/hello:1``. A name that is not a repository or a tag is an error that
says so, before any request (:mod:`karvdash_labext.images`).

``push`` uploads a ``docker save`` tarball or an OCI archive (tar or tar.gz; ``-`` reads
standard input, e.g. ``docker save hello | karvdashctl push - alice/hello:1``), read as it
is sent, and shows how far it is on standard error when that is a terminal. ``rmi`` deletes
tags, and with each the image it names, so every tag of that image goes with it (it says
which); a name without a tag is the whole repository, deleted only with ``--all-tags``.
Every name is checked before anything is deleted.
"""

from __future__ import annotations

import sys
from typing import IO

from .api import KarvdashError
from .command import Command, arg, table
from .filecommands import size, when
from .images import reference

#: more tags than this are counted, not listed, in ``images``
MANY_TAGS = 4


def tags_shown(tags: list[str]) -> str:
    if len(tags) <= MANY_TAGS:
        return ", ".join(tags)
    return ", ".join(tags[: MANY_TAGS - 1]) + f", ... ({len(tags)} tags)"


def show_images(answer: dict) -> str:
    head = f"registry {answer['registry']} ($REGISTRY in templates)"
    if not answer["repositories"]:
        mine = answer.get("namespace") or "you"
        return f"{head}\nno images yet: push one with 'karvdashctl push FILE {mine}/NAME:TAG'"
    rows = [{**r, "tags": tags_shown(r["tags"])} for r in answer["repositories"]]
    return head + "\n\n" + table(rows, [("name", "NAME"), ("tags", "TAGS")])


def short(digest: str | None) -> str:
    """``sha256:`` and the first 12 hexadecimal digits, as docker shows image ids."""
    algorithm, _, hexadecimal = (digest or "").partition(":")
    return f"{algorithm}:{hexadecimal[:12]}" if hexadecimal else digest or ""


def show_tags(answer: dict) -> str:
    """A repository's tags (or one tag's) as a table."""
    details = answer.get("details", [answer])
    if not details:
        return f"{answer['name']} has no tags"
    rows = [
        {
            "tag": d["tag"],
            "digest": short(d["digest"]),
            "size": size(d.get("size")),
            "created": when(d.get("created")),
            "reference": d["template_reference"],
        }
        for d in details
    ]
    columns = [
        ("tag", "TAG"),
        ("digest", "DIGEST"),
        ("size", "SIZE"),
        ("created", "CREATED"),
        ("reference", "REFERENCE"),
    ]
    return table(rows, columns)


class Percent:
    """``push``'s progress on a terminal: the percentage sent (the bytes when the total is
    not known), written again in place when it changes."""

    def __init__(self, out: IO[str], image: str):
        self.out, self.image, self.last = out, image, None

    def __call__(self, sent: int, total: int | None) -> None:
        shown = f"{sent * 100 // total}%" if total else size(sent)
        if shown == self.last:
            return
        self.last = shown
        self.out.write(f"\rsending {self.image}: {shown}")
        if total and sent >= total:
            self.out.write(", the dashboard checks it and pushes it to the registry...")
        self.out.flush()

    def end(self) -> None:
        if self.last is not None:
            self.out.write("\n")
            self.out.flush()


def tagged(image: str) -> str:
    """A NAME:TAG argument, checked."""
    reference(image, need_tag=True)
    return image


def push_archive(client, archive: str, image: str) -> dict:
    """Upload the archive ``archive`` (a path, or ``-``: standard input) as ``image``."""
    source = sys.stdin.buffer if archive == "-" else archive
    progress = Percent(sys.stderr, image) if sys.stderr.isatty() else None
    try:
        return client.push_image(source, image, progress=progress)
    finally:
        if progress:
            progress.end()


def show_pushed(pushed: dict) -> str:
    blobs = pushed["blobs"]
    return "\n".join(
        [
            f"pushed {pushed['template_reference']} ({pushed['reference']})",
            f"digest {pushed['digest']}",
            f"sent {blobs['sent']} of {blobs['total']} blobs"
            f" ({blobs['existing']} already in the registry)",
        ]
    )


def to_remove(images: list[str], all_tags: bool) -> list[str]:
    """The names ``rmi`` was given, checked, each once."""
    for image in images:
        if reference(image)[1] is None and not all_tags:
            raise KarvdashError(
                0,
                "bad-argument",
                f"{image} names no tag: 'rmi {image}:TAG' deletes a tag (and the image it"
                f" names), 'rmi --all-tags {image}' the repository with all its tags",
            )
    return list(dict.fromkeys(images))


def remove_images(client, images: list[str]) -> list[dict]:
    """Delete each of ``images`` (a tag gone already with an earlier one's image is not
    asked again): the answers, each with the name it was ``asked`` as."""
    done: list[dict] = []
    for image in images:
        if any(image in gone_with(d) for d in done):
            continue
        try:
            done.append({"asked": image, **client.delete_image(image)})
        except KarvdashError as err:
            if done:
                err.message += f" (deleted before that: {', '.join(d['asked'] for d in done)})"
            raise
    return done


def gone_with(deleted: dict) -> list[str]:
    return [f"{deleted['name']}:{tag}" for tag in deleted["tags"]]


def show_removed(removed: list[dict]) -> str:
    lines = []
    for deleted in removed:
        asked, gone = deleted["asked"], gone_with(deleted)
        if reference(asked)[1] is None:
            lines.append(f"deleted {asked} with all its tags: {', '.join(deleted['tags'])}")
            continue
        lines.append(f"deleted {asked}")
        others = [name for name in gone if name != asked]
        if others:
            lines.append(f"  and with it {', '.join(others)} (tags of the same image)")
    return "\n".join(lines)


IMAGE = "an image: NAME:TAG, e.g. alice/hello:1"

IMAGE_COMMANDS = (
    Command(
        "images",
        help="list the container images you may use",
        description="List the images of the registry you may use in templates (yours and"
        " library/) with their tags, and the registry's host ($REGISTRY).",
        operation="list_images",
        for_user=False,
        show=show_images,
    ),
    Command(
        "tags",
        help="show an image's tags",
        description="Show an image's tags (e.g. 'tags alice/hello'): digest, size, when it"
        " was built, and the reference to write in a template.",
        operation="get_image",
        arguments=(arg("name", help="a repository, e.g. alice/hello (or NAME:TAG)"),),
        inputs=lambda a: {"image": a.name},
        for_user=False,
        show=show_tags,
    ),
    Command(
        "push",
        help="upload an image archive",
        description="Upload an image saved with 'docker save' (or an OCI archive, tar or"
        " tar.gz) as NAME:TAG (e.g. 'push hello.tar alice/hello:1'; '-' reads it from"
        " standard input).",
        operation="push_image",
        arguments=(
            arg("file", help="the archive, or - for standard input"),
            arg("image", metavar="NAME:TAG", help=IMAGE),
        ),
        inputs=lambda a: {"archive": a.file, "image": tagged(a.image)},
        for_user=False,
        run=push_archive,
        show=show_pushed,
    ),
    Command(
        "rmi",
        help="delete image tags",
        description="Delete tags (e.g. 'rmi alice/hello:1'), each with the image it names:"
        " every tag of that image goes with it. A repository with all its tags only with"
        " --all-tags.",
        operation="delete_image",
        arguments=(
            arg("image", nargs="+", metavar="NAME:TAG", help=IMAGE),
            arg("--all-tags", action="store_true", help="a NAME without a tag: all its tags"),
        ),
        inputs=lambda a: {"images": to_remove(a.image, a.all_tags)},
        for_user=False,
        run=remove_images,
        show=show_removed,
    ),
)
