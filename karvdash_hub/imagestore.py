"""ImageStore: the users' container images, as the dashboard's API offers them.

Everything goes through the registry's own API (:class:`RegistryClient`) with tokens
for exactly what the caller may do (:mod:`karvdash_hub.rules.registry`):

- :meth:`ImageStore.list` answers the repositories the caller may pull that have at least
  one tag (the registry's catalog also lists repositories whose uploads never finished,
  or whose tags were all deleted: they are not shown);
- :meth:`ImageStore.describe` answers a repository's tags, each with its digest, size
  (config and compressed layers, as stored), creation date and platform, and the
  references to use (``host/name:tag`` and ``$REGISTRY/name:tag``);
- :meth:`ImageStore.push` checks a received archive whole (:mod:`.imagearchive`) and only
  then pushes it with skopeo, with a credential for that one repository; blobs the
  registry has are not sent again (skopeo asks first), and the answer says how many were;
- :meth:`ImageStore.delete` deletes a tag's manifest (Distribution deletes by digest, so
  every tag of that image goes with it, and the answer names them) or a whole repository.
  Blobs stay until the registry's garbage collection.

Unknown or invisible repositories are ``image-not-found``: whether another user's exists
is not told. A push or delete the caller may not do is ``not-yours``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from . import imagearchive
from .errors import ApiError
from .installation import Installation
from .registryauth import RegistryAuth
from .registryclient import RegistryClient
from .rules import registry as rules

INDEX_TYPES = imagearchive.INDEX_TYPES
_BLOB_LINE = re.compile(r"Copying (blob|config) (sha256:[0-9a-f]+)")
_UPLOAD_LINE = re.compile(r'msg="Uploading /v2/[^"]*/blobs/uploads/"')


class ImageStore(LoggingConfigurable):
    work_dir = Unicode(
        "",
        config=True,
        help="Where uploaded archives wait while they are checked and pushed (they are"
        " removed after). Empty: the system's temporary folder.",
    )
    max_archive_bytes = Int(
        32 << 30, config=True, help="The largest image archive an upload may send, in bytes."
    )
    max_layers = Int(
        127,
        config=True,
        help="The most layers an uploaded image may have (127: what overlay file systems"
        " and Docker allow).",
    )
    max_unpacked_bytes = Int(
        64 << 30,
        config=True,
        help="The most bytes an uploaded image's layers may unpack to, in all (gzip"
        " layers are decompressed to count, up to this).",
    )
    max_pushes = Int(2, config=True, help="How many uploads are pushed at the same time.")
    skopeo = Unicode("skopeo", config=True, help="The skopeo command that pushes uploads.")

    def __init__(self, installation: Installation, auth: RegistryAuth, **kwargs):
        super().__init__(**kwargs)
        self.installation = installation
        self.auth = auth
        self._client: RegistryClient | None = None
        self._pushes = asyncio.Semaphore(self.max_pushes)

    # -- whose what

    def available(self) -> None:
        if not self.installation.registry or not self.auth.key_file:
            raise ApiError("no-registry", "this installation has no container registry")

    @property
    def client(self) -> RegistryClient:
        self.available()
        if self._client is None:
            self._client = RegistryClient(self.installation.registry_api(), self.auth)
        return self._client

    @staticmethod
    def may(identity: rules.Identity, repository: str, action: str) -> bool:
        scope = rules.Scope("repository", repository, (action,))
        return action in rules.allowed_actions(identity, scope)

    def visible(self, identity: rules.Identity, repository: str) -> str:
        """``repository``, checked: a bad name is bad-reference, an invisible one
        image-not-found."""
        try:
            rules.check_repository(repository)
        except rules.RegistryError as err:
            raise ApiError("bad-reference", str(err)) from None
        if not self.may(identity, repository, "pull"):
            raise ApiError("image-not-found", f"there is no image {repository!r}")
        return repository

    def entry(self, identity: rules.Identity, repository: str, tags: list[str]) -> dict:
        return {
            "name": repository,
            "owner": rules.owner_of(repository),
            "tags": tags,
            "can_push": self.may(identity, repository, "push"),
            "can_delete": self.may(identity, repository, "delete"),
        }

    # -- reading

    async def list(self, identity: rules.Identity) -> dict:
        client = self.client
        names = [n for n in await client.catalog() if self.may(identity, n, "pull")]
        limit = asyncio.Semaphore(16)

        async def tags(name: str) -> list[str]:
            async with limit:
                return await client.tags(name)

        found = await asyncio.gather(*(tags(n) for n in names))
        return {
            "registry": self.installation.registry,
            "namespace": rules.namespace_of(identity.name or ""),
            "repositories": [
                self.entry(identity, name, t)
                for name, t in sorted(zip(names, found, strict=True))
                if t
            ],
        }

    async def describe(self, identity: rules.Identity, repository: str, tag: str | None = None):
        self.visible(identity, repository)
        if tag is not None:
            found = await self.tag_details(repository, tag)
            if found is None:
                raise ApiError("image-not-found", f"{repository} has no tag {tag!r}")
            return found
        tags = await self.client.tags(repository)
        if not tags:
            raise ApiError("image-not-found", f"there is no image {repository!r}")
        configs: dict = {}  # tags of one image read its config once
        details = await asyncio.gather(*(self.tag_details(repository, t, configs) for t in tags))
        details = [d for d in details if d is not None]  # a tag deleted meanwhile
        return {**self.entry(identity, repository, [d["tag"] for d in details]), "details": details}

    async def tag_details(self, repository: str, tag: str, configs=None) -> dict | None:
        """The facts of one tag; ``configs`` (config digest -> its reading) is shared by
        the tags of one listing."""
        found = await self.client.manifest(repository, tag)
        if found is None:
            return None
        digest, manifest = found
        media = manifest.get("mediaType") or (
            INDEX_TYPES[0]
            if "manifests" in manifest
            else "application/vnd.oci.image.manifest.v1+json"
        )
        facts = {"size": None, "created": None, "architecture": None, "os": None, "layers": None}
        if media not in INDEX_TYPES:
            layers = manifest.get("layers") or []
            config_ref = manifest.get("config") or {}
            config_digest = config_ref.get("digest", "")
            configs = {} if configs is None else configs
            if config_digest not in configs:
                reading = self.client.blob_json(repository, config_digest)
                configs[config_digest] = asyncio.ensure_future(reading)
            config = await configs[config_digest]
            facts["layers"] = len(layers)
            facts["size"] = int(config_ref.get("size", 0)) + sum(
                int(x.get("size", 0)) for x in layers
            )
            if config:
                facts.update({k: config.get(k) for k in ("created", "architecture", "os")})
        return {
            "name": repository,
            "tag": tag,
            "digest": digest,
            "media_type": media,
            **facts,
            "reference": f"{self.installation.registry}/{repository}:{tag}",
            "template_reference": f"$REGISTRY/{repository}:{tag}",
        }

    # -- deleting

    async def delete(self, identity: rules.Identity, repository: str, tag: str | None) -> dict:
        self.visible(identity, repository)
        if not self.may(identity, repository, "delete"):
            raise ApiError("not-yours", f"{repository} is not yours to delete")
        client = self.client
        tags = await client.tags(repository)
        digests = dict(
            zip(
                tags,
                await asyncio.gather(*(client.digest(repository, t) for t in tags)),
                strict=True,
            )
        )
        if tag is not None:
            if digests.get(tag) is None:
                raise ApiError("image-not-found", f"{repository} has no tag {tag!r}")
            doomed = [digests[tag]]
        else:
            doomed = sorted({d for d in digests.values() if d})
            if not doomed:
                raise ApiError("image-not-found", f"there is no image {repository!r}")
        for digest in doomed:
            await client.delete_manifest(repository, digest)
        gone = sorted(t for t, d in digests.items() if d in doomed)
        self.log.info("Deleted %s (%s): tags %s", repository, ", ".join(doomed), gone)
        return {"name": repository, "digests": doomed, "tags": gone}

    # -- uploading

    def check_push(self, identity: rules.Identity, image: str, length: int | None) -> tuple:
        """``(repository, tag)`` of an upload about to come, or why not."""
        try:
            repository, tag = rules.split_image(image)
        except rules.RegistryError as err:
            raise ApiError("bad-reference", str(err)) from None
        if tag is None:
            raise ApiError("bad-reference", f"say which tag: {image}:TAG")
        self.available()  # no registry: no-registry, before the body comes
        if not self.may(identity, repository, "push"):
            mine = rules.namespace_of(identity.name or "")
            raise ApiError(
                "not-yours",
                f"you may push to {mine}/... only"
                + ("" if identity.admin else " (library/ is for admins)"),
            )
        if length is not None and length > self.max_archive_bytes:
            raise ApiError(
                "too-large", f"an image archive may have {self.max_archive_bytes} bytes at most"
            )
        folder = self.work_dir or tempfile.gettempdir()
        Path(folder).mkdir(parents=True, exist_ok=True)
        if length is not None and length * 2 > shutil.disk_usage(folder).free:
            raise ApiError("insufficient-storage", "the dashboard has no room for this archive now")
        return repository, tag

    def new_file(self) -> tuple[int, str]:
        folder = self.work_dir or tempfile.gettempdir()
        return tempfile.mkstemp(prefix="karvdash-image-", suffix=".tar", dir=folder)

    async def push(self, identity: rules.Identity, path: str, repository: str, tag: str) -> dict:
        """Check the archive at ``path`` and push it as ``repository:tag``."""
        work = tempfile.mkdtemp(prefix="karvdash-push-", dir=self.work_dir or None)
        try:
            plain = path
            if await asyncio.to_thread(imagearchive.is_gzip, path):
                plain = os.path.join(work, "archive.tar")
                await asyncio.to_thread(
                    imagearchive.unpack_gzip, path, plain, self.max_unpacked_bytes
                )
            facts = await asyncio.to_thread(
                imagearchive.check_archive,
                plain,
                max_layers=self.max_layers,
                max_unpacked=self.max_unpacked_bytes,
            )
            async with self._pushes:
                blobs = await self._skopeo(identity, plain, facts.format, repository, tag, work)
        except imagearchive.ArchiveError as err:
            raise ApiError("bad-archive", f"{err}; nothing was pushed") from None
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)  # ignore_errors
        details = await self.tag_details(repository, tag)
        if details is None:
            raise ApiError("registry-unavailable", "the registry lost the image just pushed")
        self.log.info("%s pushed %s:%s (%s)", identity.name, repository, tag, details["digest"])
        return {**details, "format": facts.format, "blobs": blobs}

    async def _skopeo(self, identity, plain: str, fmt: str, repository: str, tag: str, work: str):
        api = self.installation.registry_api()
        host = api.split("://", 1)[-1]
        password = self.auth.push_credential(identity.name or "", repository)
        auth = base64.b64encode(f"{identity.name}:{password}".encode()).decode()
        authfile = os.path.join(work, "auth.json")
        fd = os.open(authfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"auths": {host: {"auth": auth}}}, out)
        command = [
            self.skopeo,
            "--debug",  # it says, only there, which blobs the registry already had
            "copy",
            "--authfile",
            authfile,
            f"--dest-tls-verify={'false' if api.startswith('http://') else 'true'}",
            "--retry-times=2",
            *(["--preserve-digests"] if fmt == "oci-archive" else []),
            f"{fmt}:{plain}",
            f"docker://{host}/{repository}:{tag}",
        ]
        env = {**os.environ, "TMPDIR": work}  # skopeo's big temporary files go there too
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            env=env,
        )
        out, _ = await process.communicate()
        output = out.decode(errors="replace")
        if process.returncode != 0:
            message = failure(output)
            if not await self.client.ping():
                raise ApiError("registry-unavailable", "the registry does not answer; try again")
            if "unauthorized" in message or "denied" in message:
                raise ApiError("server-error", f"the registry refused the dashboard: {message}")
            raise imagearchive.ArchiveError(f"the registry refused the image: {message}")
        return blob_counts(output)


def failure(output: str) -> str:
    """skopeo's own error message in its (debug) output."""
    lines = [line for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        found = re.search(r'level=(?:fatal|error) msg="(.*)"', line)
        if found:
            return found.group(1)
    return lines[-1] if lines else "(no message)"


def blob_counts(output: str) -> dict:
    """How many blobs skopeo copied (its ``Copying blob|config <digest>`` lines) and how
    many of them it sent: each blob it uploads starts with the debug line ``Uploading
    /v2/<name>/blobs/uploads/``; the others the registry already had."""
    copied = {m.group(2) for m in map(_BLOB_LINE.match, output.splitlines()) if m}
    sent = min(len(_UPLOAD_LINE.findall(output)), len(copied))
    return {"total": len(copied), "sent": sent, "existing": len(copied) - sent}
