"""The rules of the file domains (karvdash_hub.rules.files): paths, listings, downloads
and the signed ids of resumable uploads."""

from __future__ import annotations

import errno
import os
import posixpath
import re
import stat
import unicodedata
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from karvdash_hub.confined import api_error
from karvdash_hub.rules import files as rules
from karvdash_hub.rules.files import BadTicket, PathError, RangeNotSatisfiable

ROOT = "/srv/domain"
KEY = b"k" * 32
# pieces that make hostile paths likelier than arbitrary text does
PIECES = ["/", ".", "..", "a", "é", "\\", "\x00", "\n", "\u202e", " ", "\ud800", "x" * 200]
paths = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from([*PIECES, rules.RESERVED_PREFIX]) | st.text(max_size=4)).map("".join),
)


def follows_the_name_rules(name: str) -> bool:
    """The rules of the module's docstring, said again independently."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in name)
        and len(name.encode("utf-8")) <= rules.MAX_NAME_BYTES
        and not any(c in "/\\" or unicodedata.category(c) == "Cc" for c in name)
        and not name.startswith(rules.RESERVED_PREFIX)
    )


valid_names = st.text(min_size=1, max_size=40).filter(follows_the_name_rules)


# -- split ------------------------------------------------------------------------------


@given(paths)
def test_split_answers_names_that_follow_every_rule_or_says_why_not(path):
    try:
        names = rules.split(path)
    except PathError as err:
        assert str(err)
        return
    assert not path.startswith("/")
    assert len(path.encode("utf-8")) <= rules.MAX_PATH_BYTES
    assert all(follows_the_name_rules(name) for name in names)
    joined = posixpath.normpath(posixpath.join(ROOT, *names))
    assert joined == ROOT if not names else joined.startswith(ROOT + "/")


@given(st.lists(valid_names, max_size=8), st.booleans())
def test_split_accepts_every_path_of_valid_names(names, trailing_slash):
    path = "/".join(names) + ("/" if trailing_slash and names else "")
    assert rules.split(path) == tuple(names)


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "a//b",
        "a/../b",
        "..",
        "./a",
        "a\\b",
        "a\x00b",
        "a\nb",
        "a\x7fb",
        "a\x85b",
        "a/\udcff",
        "x" * 256,
        "é" * 128,
        "/".join(["x" * 200] * 21),
        rules.RESERVED_PREFIX + "0123.part",
        "a/" + rules.partial_name("abc"),
        "a//",
    ],
)
def test_split_refuses_a_path_that_breaks_a_rule(path):
    with pytest.raises(PathError):
        rules.split(path)


def test_split_answers_the_root_for_the_empty_path_and_allows_one_trailing_slash():
    assert rules.split("") == ()
    assert rules.split("a/b/") == ("a", "b")
    assert rules.split("x" * 255) == ("x" * 255,)
    assert rules.split("\u202etxt.exe/ name ;\"'") == ("\u202etxt.exe", " name ;\"'")


def test_check_name_refuses_what_is_not_a_string_or_empty():
    for bad in (None, 5, b"a", ""):
        with pytest.raises(PathError):
            rules.check_name(bad)


def test_only_the_two_domains_exist():
    assert [rules.check_domain(d) for d in ("private", "shared")] == ["private", "shared"]
    with pytest.raises(PathError, match="private"):
        rules.check_domain("other")


# -- entries and listings ---------------------------------------------------------------


def status(mode: int, size: int = 0, mtime: int = 0) -> os.stat_result:
    return os.stat_result((mode, 1, 1, 1, 0, 0, size, mtime, mtime, mtime))


@pytest.mark.parametrize(
    "mode,kind",
    [
        (stat.S_IFDIR | 0o755, "folder"),
        (stat.S_IFREG | 0o644, "file"),
        (stat.S_IFLNK | 0o777, "symlink"),
        (stat.S_IFIFO | 0o600, "other"),
    ],
)
def test_an_entry_says_what_a_name_is(mode, kind):
    found = rules.entry("shared", ("a", "b.png"), status(mode, size=7, mtime=86400))
    assert found["type"] == kind and found["path"] == "a/b.png" and found["name"] == "b.png"
    assert found["size"] == (0 if kind == "folder" else 7)
    assert found["modified"] == "1970-01-02T00:00:00+00:00"
    assert found["mode"] == f"{stat.S_IMODE(mode):04o}"
    assert ("mime" in found) == (kind == "file")
    assert "mtime" not in rules.public(found)
    assert rules.entry("private", (), status(mode))["name"] == ""  # the root


def listing_entry(name, kind="file", size=0, mtime=0.0):
    return {"name": name, "type": kind, "size": size, "mtime": mtime}


def names_of(entries):
    return [e["name"] for e in entries]


entries = st.dictionaries(
    st.text(min_size=1, max_size=6),
    st.tuples(st.sampled_from(["folder", "file", "symlink", "other"]), st.integers(0, 5)),
    max_size=20,
).map(lambda d: [listing_entry(n, k, s, float(s)) for n, (k, s) in d.items()])


@given(entries, st.sampled_from(rules.SORT_KEYS), st.sampled_from(["asc", "desc"]), st.randoms())
def test_a_listing_puts_folders_first_in_one_total_order(found, sort, order, random):
    ordered = rules.sort_entries(found, sort, order)
    shuffled = list(found)
    random.shuffle(shuffled)
    assert rules.sort_entries(shuffled, sort, order) == ordered  # pages never overlap
    assert sorted(names_of(ordered)) == sorted(names_of(found))
    kinds = [e["type"] == "folder" for e in ordered]
    assert kinds == sorted(kinds, reverse=True)


def test_a_listing_sorts_by_the_name_case_folded_then_by_the_key_asked():
    found = [listing_entry("b", size=1), listing_entry("A", size=3), listing_entry("a", size=2)]
    found.append(listing_entry("z", "folder"))
    assert names_of(rules.sort_entries(found)) == ["z", "A", "a", "b"]
    assert names_of(rules.sort_entries(found, "name", "desc")) == ["z", "b", "a", "A"]
    assert names_of(rules.sort_entries(found, "size", "desc")) == ["z", "A", "a", "b"]
    for bad in (("owner", "asc"), ("name", "up")):
        with pytest.raises(PathError):
            rules.sort_entries(found, *bad)


def test_page_bounds_default_and_limit():
    assert rules.page_bounds(None, None) == (0, rules.DEFAULT_LIMIT)
    assert rules.page_bounds("", "") == (0, rules.DEFAULT_LIMIT)
    assert rules.page_bounds("10", "50") == (10, 50)
    assert rules.page_bounds("0", str(rules.MAX_LIMIT)) == (0, rules.MAX_LIMIT)


@pytest.mark.parametrize(
    "offset,limit", [("-1", None), ("x", None), ("1.5", None), (None, "0"), (None, "5001")]
)
def test_page_bounds_refuse_what_is_not_a_page(offset, limit):
    with pytest.raises(PathError):
        rules.page_bounds(offset, limit)


@pytest.mark.parametrize("offset,limit", [("\xb2", None), (None, "\xb9")])
def test_page_bounds_refuse_digits_that_are_not_ascii_as_bad_input(offset, limit):
    # "²".isdigit() is True but int("²") fails: a query ?offset=² must be a 400 (PathError)
    with pytest.raises(PathError):
        rules.page_bounds(offset, limit)


# -- downloads --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header,size,expected",
    [
        (None, 10, None),
        ("", 10, None),
        ("bytes=0-", 10, (0, 10)),
        ("bytes=2-4", 10, (2, 5)),
        ("bytes=2-400", 10, (2, 10)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=-30", 10, (0, 10)),
        (" Bytes = 1-1 ", 10, (1, 2)),
        ("bytes=0-1,4-5", 10, None),
        ("items=0-1", 10, None),
        ("bytes=5-2", 10, None),
        ("bytes=a-2", 10, None),
        ("bytes=-", 10, None),
        ("bytes=3", 10, None),
    ],
)
def test_a_range_is_one_satisfiable_byte_range_or_ignored(header, size, expected):
    assert rules.byte_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=\xb2-", "bytes=0-\xb9", "bytes=-\xb3"])
def test_a_range_with_digits_that_are_not_ascii_is_ignored(header):
    # RFC 9110's DIGIT is ASCII; "²".isdigit() is True but int("²") fails. Tornado decodes
    # headers as latin-1, so a client can send these: the download must not fail (500).
    assert rules.byte_range(header, 10) is None


@pytest.mark.parametrize(
    "header,size", [("bytes=10-", 10), ("bytes=11-20", 10), ("bytes=-0", 10), ("bytes=-1", 0)]
)
def test_a_range_past_the_end_is_not_satisfiable(header, size):
    with pytest.raises(RangeNotSatisfiable):
        rules.byte_range(header, size)


@pytest.mark.parametrize(
    "name,mime",
    [
        ("a.png", "image/png"),
        ("A.PNG", "image/png"),
        ("notes.md", "text/markdown"),
        ("table.csv", "text/csv"),
        ("x.ipynb", "application/x-ipynb+json"),
        (".bashrc", "application/octet-stream"),
        ("README", "application/octet-stream"),
    ],
)
def test_a_type_is_guessed_from_the_name_alone(name, mime):
    assert rules.mime_type(name) == mime


@pytest.mark.parametrize("name", ["a.png", "b.jpg", "c.gif", "d.webp"])
def test_safe_images_are_previewed_as_themselves(name):
    headers = rules.download_headers(name, inline=True)
    assert headers["Content-Type"] == rules.mime_type(name)
    assert headers["Content-Disposition"].startswith("inline;")


@pytest.mark.parametrize("name", ["a.txt", "b.html", "c.svg", "d.xml", "e.js", "f.json"])
def test_text_is_previewed_only_as_plain_text_never_as_html_or_svg(name):
    headers = rules.download_headers(name, inline=True)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"].startswith("inline;")


@pytest.mark.parametrize("name,inline", [("a.pdf", True), ("b.bin", True), ("c.png", False)])
def test_anything_else_is_an_attachment(name, inline):
    headers = rules.download_headers(name, inline=inline)
    assert headers["Content-Type"] == rules.mime_type(name)
    assert headers["Content-Disposition"].startswith("attachment;")


DISPOSITION = re.compile(
    r"(inline|attachment); filename=\"([\x20-\x7e]*)\"; "
    r"filename\*=UTF-8''((?:[A-Za-z0-9!#$&+.^_`|~-]|%[0-9A-F]{2})+)"  # RFC 5987 attr-char
)


def check_disposition(kind: str, name: str) -> str:
    header = rules.disposition(kind, name)
    match = DISPOSITION.fullmatch(header)
    assert match, header
    fallback, encoded = match.group(2), match.group(3)
    assert not set(fallback) & set('"\\%;') and fallback.strip() == fallback and fallback
    assert unquote(encoded, encoding="utf-8", errors="strict") == name
    return fallback


@given(valid_names)
def test_a_disposition_is_one_header_of_ascii_with_the_exact_name_in_utf8(name):
    check_disposition("attachment", name)


@pytest.mark.parametrize(
    "name,fallback",
    [
        ("report.pdf", "report.pdf"),
        ("\u202efdp.exe", "_fdp.exe"),
        ('say "hi".txt', "say _hi_.txt"),
        ("a\r\nSet-Cookie: x=1", "a__Set-Cookie: x=1"),
        ("a; filename=evil.html", "a_ filename=evil.html"),
        ("100%.txt", "100_.txt"),
        ("back\\slash", "back_slash"),
        ("Ελληνικά.txt", "________.txt"),
        ("日本", "__"),
        ("   ", "download"),
    ],
)
def test_a_hostile_name_cannot_break_out_of_its_disposition(name, fallback):
    assert check_disposition("inline", name) == fallback


def test_an_archive_is_named_after_its_folder_and_its_format():
    assert rules.archive_name("data", "zip") == "data.zip"
    assert rules.archive_name("data", "tar.gz") == "data.tar.gz"
    with pytest.raises(PathError):
        rules.archive_name("data", "rar")


# -- resumable uploads ------------------------------------------------------------------

FIELDS = {"c": "dashboard", "u": "ada", "d": "private", "p": "a/b.bin", "s": 10, "e": 1000.0}


def test_a_ticket_answers_the_fields_it_was_signed_with():
    ticket = rules.sign_ticket(FIELDS, KEY)
    assert rules.read_ticket(ticket, KEY, now=999.0) == FIELDS
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", ticket)  # safe in a URL


def test_a_ticket_with_altered_fields_is_refused():
    payload, mac = rules.sign_ticket(FIELDS, KEY).split(".")
    other = rules.sign_ticket({**FIELDS, "s": 10**12}, KEY).split(".")[0]
    with pytest.raises(BadTicket):
        rules.read_ticket(f"{other}.{mac}", KEY, now=0)
    flipped = ("B" if mac[0] == "A" else "A") + mac[1:]
    with pytest.raises(BadTicket):
        rules.read_ticket(f"{payload}.{flipped}", KEY, now=0)


def test_a_ticket_signed_with_another_key_is_refused():
    with pytest.raises(BadTicket):
        rules.read_ticket(rules.sign_ticket(FIELDS, b"other" * 8), KEY, now=0)


def test_a_ticket_expires():
    ticket = rules.sign_ticket(FIELDS, KEY)
    with pytest.raises(BadTicket, match="expired"):
        rules.read_ticket(ticket, KEY, now=1000.5)
    with pytest.raises(BadTicket, match="expired"):  # no expiry: never valid
        rules.read_ticket(rules.sign_ticket({"u": "ada"}, KEY), KEY, now=1.0)


@given(st.text(max_size=80))
def test_any_other_text_is_a_bad_ticket(text):
    with pytest.raises(BadTicket):
        rules.read_ticket(text, KEY, now=0)


def test_a_partial_upload_has_a_reserved_name_nobody_can_address():
    name = rules.partial_name("0a1b")
    assert name.endswith(".part") and rules.is_hidden_work(name)
    with pytest.raises(PathError):
        rules.check_name(name)


#: errno and the reason of the API error it becomes (karvdash_hub.confined.api_error)
REASONS = {
    "ENOENT": "not-found",
    "ENOTDIR": "not-a-folder",
    "EISDIR": "is-a-folder",
    "EEXIST": "file-exists",
    "ENOTEMPTY": "folder-not-empty",
    "ENOSPC": "insufficient-storage",
    "EDQUOT": "insufficient-storage",
    "EACCES": "permission-denied",
    "EPERM": "permission-denied",
    "EROFS": "permission-denied",
    "ELOOP": "outside-domain",
    "ENAMETOOLONG": "bad-path",
    "EXDEV": "bad-request",
    "EIO": "server-error",
}


@pytest.mark.parametrize("code,reason", REASONS.items())
def test_an_os_error_becomes_the_reason_that_says_what_was_wrong(code, reason):
    err = api_error(OSError(getattr(errno, code), os.strerror(getattr(errno, code))), "/shared/x")
    assert err.reason == reason and "/shared/x" in err.message
