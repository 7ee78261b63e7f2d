"""The users' registry behind the dashboard's token endpoint: the real Distribution
registry (Debian's docker-registry) that the hub starts, with token authentication, real
hub tokens, and skopeo as the client, pushing and pulling a small OCI image made here."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
import requests
from support.parts import need_registry

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SERVICE = "karvdash-registry"


@pytest.fixture(scope="module")
def registry(hub):
    """The users' registry that the hub started (jupyterhub_config.py)."""
    need_registry()
    return SimpleNamespace(address=hub.registry)


def _blob(layout: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> Path:
    """An OCI layout with one small image, tag '1'."""
    layout = tmp_path_factory.mktemp("oci")
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    layer = _blob(layout, gzip.compress(raw.getvalue(), mtime=0))
    config = _blob(
        layout,
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {
                    "type": "layers",
                    "diff_ids": [f"sha256:{hashlib.sha256(raw.getvalue()).hexdigest()}"],
                },
            }
        ).encode(),
    )
    manifest = _blob(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {**config, "mediaType": "application/vnd.oci.image.config.v1+json"},
                "layers": [{**layer, "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}],
            }
        ).encode(),
    )
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                **manifest,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "annotations": {"org.opencontainers.image.ref.name": "1"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return layout


def push(registry, image, repository, creds=None):
    command = ["skopeo", "copy", "--dest-tls-verify=false", f"oci:{image}:1"]
    command += [f"docker://{registry.address}/{repository}:1"]
    if creds:
        command[2:2] = ["--dest-creds", creds]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def inspect(registry, repository, creds=None):
    command = ["skopeo", "inspect", "--tls-verify=false", "--raw"]
    command += [f"docker://{registry.address}/{repository}:1"]
    if creds:
        command[2:2] = ["--creds", creds]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_skopeo_with_a_hub_token_pushes_to_the_users_own_namespace_only(registry, image, tokens):
    alice = f"alice:{tokens['alice']}"
    done = push(registry, image, "alice/hello", alice)
    assert done.returncode == 0, done.stderr
    assert inspect(registry, "alice/hello", alice).returncode == 0
    for repository in ("bob/hello", "library/hello"):
        refused = push(registry, image, repository, alice)
        assert refused.returncode != 0
        assert "denied" in refused.stderr.lower() or "unauthorized" in refused.stderr.lower()
    # bob cannot pull alice's image; nobody anonymous pulls anything
    assert inspect(registry, "alice/hello", f"bob:{tokens['bob']}").returncode != 0
    assert inspect(registry, "alice/hello").returncode != 0
    # a wrong token, or another user's name with it, is no login
    assert push(registry, image, "alice/x", f"alice:{tokens['bob']}").returncode != 0
    assert push(registry, image, "alice/x", "alice:not-a-token").returncode != 0


def test_an_admin_pushes_to_library_and_every_user_pulls_it(registry, image, tokens):
    done = push(registry, image, "library/hello", f"admin:{tokens['admin']}")
    assert done.returncode == 0, done.stderr
    for user in ("alice", "bob"):
        assert inspect(registry, "library/hello", f"{user}:{tokens[user]}").returncode == 0
    assert inspect(registry, "library/hello").returncode != 0


def _token(hub, user, secret, *scopes):
    r = requests.get(
        hub.url + "/services/karvdash/registry/token",
        params={"service": SERVICE, "scope": list(scopes)},
        auth=(user, secret),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_a_token_grants_only_its_scopes_and_a_tampered_or_expired_one_nothing(
    hub, registry, image, tokens
):
    assert push(registry, image, "alice/scoped", f"alice:{tokens['alice']}").returncode == 0
    base = f"http://{registry.address}/v2/alice/scoped/manifests/1"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}

    def get(token):
        return requests.get(
            base, headers={**accept, "Authorization": f"Bearer {token}"}, timeout=30
        )

    pull = _token(hub, "alice", tokens["alice"], "repository:alice/scoped:pull")
    assert get(pull).status_code == 200
    # the same token for another repository, or to push: refused by the registry
    other = requests.get(
        f"http://{registry.address}/v2/alice/hello/manifests/1",
        headers={**accept, "Authorization": f"Bearer {pull}"},
        timeout=30,
    )
    assert other.status_code == 401
    upload = requests.post(
        f"http://{registry.address}/v2/alice/scoped/blobs/uploads/",
        headers={"Authorization": f"Bearer {pull}"},
        timeout=30,
    )
    assert upload.status_code == 401
    # what bob asks of alice's repository is left out of his token
    claims = jwt.decode(
        _token(hub, "bob", tokens["bob"], "repository:alice/scoped:pull"),
        options={"verify_signature": False},
    )
    assert claims["access"] == [] and claims["sub"] == "bob"
    # tampered: the same claims with alice's other repository, the signature kept
    head, body, signature = pull.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["access"][0]["actions"] = ["pull", "push", "delete"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert get(f"{head}.{forged}.{signature}").status_code == 401
    # signed by another key: refused
    from cryptography.hazmat.primitives.asymmetric import ec

    other_key = ec.generate_private_key(ec.SECP256R1())
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    stranger = jwt.encode(claims, other_key, algorithm="ES256", headers={"kid": header["kid"]})
    assert get(stranger).status_code == 401
    # expired: Distribution allows a minute of clock skew, so two minutes back
    key_file = Path(hub.state) / "registry-token.key"
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    old = {
        **claims,
        "access": [{"type": "repository", "name": "alice/scoped", "actions": ["pull"]}],
    }
    old.update(exp=old["iat"] - 120, nbf=old["iat"] - 600, iat=old["iat"] - 600)
    expired = jwt.encode(old, key, algorithm="ES256", headers={"kid": header["kid"]})
    assert get(expired).status_code == 401
    # the same, not expired, is accepted: the refusals above were the changes made
    fresh = jwt.encode(
        {**old, "exp": claims["exp"], "nbf": claims["nbf"], "iat": claims["iat"]},
        key,
        algorithm="ES256",
        headers={"kid": header["kid"]},
    )
    assert get(fresh).status_code == 200


def test_the_token_endpoint_refuses_wrong_credentials_and_takes_containerds_form(hub, tokens):
    url = hub.url + "/services/karvdash/registry/token"
    r = requests.get(url, params={"service": SERVICE}, auth=("alice", "wrong"), timeout=30)
    assert r.status_code == 401 and r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    r = requests.get(url, params={"service": SERVICE}, auth=("bob", tokens["alice"]), timeout=30)
    assert r.status_code == 401
    r = requests.post(
        url,
        data={
            "grant_type": "password",
            "username": "alice",
            "password": tokens["alice"],
            "service": SERVICE,
            "scope": "repository:alice/a:pull repository:library/b:pull repository:bob/c:pull",
            "client_id": "containerd-client",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    access = jwt.decode(r.json()["access_token"], options={"verify_signature": False})["access"]
    assert [a["name"] for a in access] == ["alice/a", "library/b"]
    # anonymous: a token that grants nothing
    r = requests.get(
        url, params={"service": SERVICE, "scope": "repository:library/b:pull"}, timeout=30
    )
    assert r.status_code == 200
    assert jwt.decode(r.json()["token"], options={"verify_signature": False})["access"] == []


def test_a_password_login_works_like_a_token_and_a_wrong_one_does_not(
    registry, image, users, tokens
):
    """``docker login`` with the user's password: the hub's login page decides."""
    done = push(registry, image, "alice/by-password", f"alice:{users['alice']}")
    assert done.returncode == 0, done.stderr
    assert inspect(registry, "alice/by-password", f"alice:{users['alice']}").returncode == 0
    # bob's password is bob's, not alice's
    assert inspect(registry, "alice/by-password", f"alice:{users['bob']}").returncode != 0
    assert push(registry, image, "bob/x", f"alice:{users['alice']}").returncode != 0


def test_a_namespaces_pull_secret_pulls_its_users_images_and_library_only(
    hub, registry, image, tokens, kube
):
    """The Secret provisioning wrote in alice's namespace (at her login), used as a node
    would: pull of alice/ and library/, no push, nothing of bob's."""
    from kubernetes import client

    secret = client.CoreV1Api(kube).read_namespaced_secret(
        "karvdash-registry", hub.namespace("alice")
    )
    assert secret.type == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret.data[".dockerconfigjson"]))
    entry = config["auths"][registry.address]
    creds = f"{entry['username']}:{entry['password']}"
    assert entry["username"] == "alice"
    assert push(registry, image, "alice/pulled", f"alice:{tokens['alice']}").returncode == 0
    assert push(registry, image, "bob/pulled", f"bob:{tokens['bob']}").returncode == 0
    assert push(registry, image, "library/pulled", f"admin:{tokens['admin']}").returncode == 0
    assert inspect(registry, "alice/pulled", creds).returncode == 0
    assert inspect(registry, "library/pulled", creds).returncode == 0
    assert inspect(registry, "bob/pulled", creds).returncode != 0
    refused = push(registry, image, "alice/pushed-by-secret", creds)
    assert refused.returncode != 0
    # both of the namespace's accounts pull with it
    core = client.CoreV1Api(kube)
    for account in ("default", "karvdash-user"):
        found = core.read_namespaced_service_account(account, hub.namespace("alice"))
        assert [s.name for s in found.image_pull_secrets] == ["karvdash-registry"]
