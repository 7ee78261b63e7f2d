"""The certificates of a local control plane: a CA, the API server's serving
certificate, the admin's client certificate and the service-account signing key."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _cert(
    subject_cn: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    org: str | None = None,
    ca: bool = False,
    server_names: list[str] = (),
    server_ips: list[str] = (),
    client: bool = False,
) -> x509.Certificate:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    subject = x509.Name(attrs)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        usages = []
        if server_names or server_ips:
            usages.append(x509.ExtendedKeyUsageOID.SERVER_AUTH)
            sans = [x509.DNSName(n) for n in server_names]
            sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in server_ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if client:
            usages.append(x509.ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    signer = issuer[1] if issuer else key
    return builder.sign(signer, hashes.SHA256())


def make_pki(pki: Path) -> None:
    """CA, API server serving certificate, admin client certificate, SA signing key."""
    if (pki / "admin.key").exists():
        return
    pki.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("karvdash-local-ca", ca_key, None, ca=True)
    server_key = _key()
    server = _cert(
        "kube-apiserver",
        server_key,
        (ca, ca_key),
        server_names=[
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
        server_ips=["127.0.0.1", "10.96.0.1"],
    )
    admin_key = _key()
    admin = _cert("kubernetes-admin", admin_key, (ca, ca_key), org="system:masters", client=True)
    sa_key = _key()
    files = {
        "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
        "ca.key": _pem_key(ca_key),
        "apiserver.crt": server.public_bytes(serialization.Encoding.PEM),
        "apiserver.key": _pem_key(server_key),
        "admin.crt": admin.public_bytes(serialization.Encoding.PEM),
        "sa.key": _pem_key(sa_key),
        "sa.pub": sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        # written last: its presence means the folder is complete
        "admin.key": _pem_key(admin_key),
    }
    for name, data in files.items():
        path = pki / name
        path.write_bytes(data)
        path.chmod(0o600)


def _load_ca(pki: Path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    ca = x509.load_pem_x509_certificate((pki / "ca.crt").read_bytes())
    key = serialization.load_pem_private_key((pki / "ca.key").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return ca, key


def _write_pair(pki: Path, name: str, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
    for path, data in (
        (pki / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM)),
        # the key last: its presence means the pair is complete
        (pki / f"{name}.key", _pem_key(key)),
    ):
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o600)
        tmp.replace(path)


def make_node_pki(pki: Path, node_name: str, node_ip: str) -> None:
    """The certificates of a real node and of the API server's calls to it, signed by the
    cluster's CA (those already there are kept):

    - ``apiserver-kubelet-client``: the API server's client certificate for the kubelet
      (logs, exec, port-forward), in ``system:masters``;
    - ``kubelet``: the kubelet's serving certificate for ``node_name`` and ``node_ip``;
    - ``kubelet-client``: the kubelet's identity ``system:node:<node_name>``;
    - ``kube-proxy``: ``system:kube-proxy`` (bound to ``system:node-proxier``);
    - ``coredns``, ``kube-router``: ``karvdash:coredns``, ``karvdash:kube-router``.
    """
    clients = {
        "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
        "kubelet-client": (f"system:node:{node_name}", "system:nodes"),
        "kube-proxy": ("system:kube-proxy", None),
        "coredns": ("karvdash:coredns", None),
        "kube-router": ("karvdash:kube-router", None),
    }
    missing = [n for n in (*clients, "kubelet") if not (pki / f"{n}.key").exists()]
    if not missing:
        return
    issuer = _load_ca(pki)
    for name in missing:
        key = _key()
        if name == "kubelet":
            cert = _cert(
                node_name,
                key,
                issuer,
                server_names=[node_name, "localhost"],
                server_ips=[node_ip, "127.0.0.1"],
            )
        else:
            cn, org = clients[name]
            cert = _cert(cn, key, issuer, org=org, client=True)
        _write_pair(pki, name, cert, key)
