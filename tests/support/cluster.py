"""Helpers of the tests that talk to the local control plane: waiting, and objects
and clients the tests make."""

from __future__ import annotations

import time

from kubernetes import client, config


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def namespace_gone(core: client.CoreV1Api, ns: str) -> bool:
    try:
        core.read_namespace(ns)
    except client.ApiException as err:
        return err.status == 404
    return False


def deployment(name: str, replicas: int = 1, **pod_spec) -> client.V1Deployment:
    labels = {"app": name}
    spec = {"containers": [client.V1Container(name="main", image="example.org/busybox:1")]}
    spec.update(pod_spec)
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas,
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels), spec=client.V1PodSpec(**spec)
            ),
        ),
    )


def impersonating(kubeconfig, user: str) -> client.ApiClient:
    api = config.new_client_from_config(config_file=str(kubeconfig))
    api.set_default_header("Impersonate-User", user)
    return api


def exec_in(kubeconfig, ns: str, pod: str, command: list[str], timeout: float = 60):
    """Run ``command`` in a pod's first container through the API server and the
    kubelet (as ``kubectl exec``): (exit status, stdout + stderr)."""
    from kubernetes.stream import stream

    api = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        ws = stream(
            client.CoreV1Api(api).connect_get_namespaced_pod_exec,
            pod,
            ns,
            command=command,
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )
        ws.run_forever(timeout=timeout)
        out = ws.read_stdout() + ws.read_stderr()
        code = ws.returncode
        ws.close()
        return code, out
    finally:
        api.close()
