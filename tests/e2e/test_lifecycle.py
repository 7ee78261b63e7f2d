"""Starting and stopping the embedded default as a person does: Ctrl-C (SIGINT) or
SIGTERM stops the hub and every process it started, in order, with no orphan; a hub
killed outright (SIGKILL) takes them with it; and a run that finds what a crashed run
left (its dashboard still on the port) stops it, says so, and starts.

The times printed are figures, not limits; the limits below only catch a hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from karvdash_localcluster import free_ports
from support.hub import HubProcess

from karvdash_hub.lifecycle import stale_processes

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

HANG = 15  # seconds after which a stop is a hang


def children(state: Path) -> dict[int, str]:
    """The processes of the hub of ``state`` (proxy, dashboard, registry)."""
    return dict(stale_processes(state))


def wait_gone(pids, timeout: float) -> float:
    started = time.monotonic()
    while any(Path(f"/proc/{p}").exists() for p in pids):
        if time.monotonic() - started > timeout:
            alive = [p for p in pids if Path(f"/proc/{p}").exists()]
            raise AssertionError(f"still running after {timeout}s: {alive}")
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_ends_the_hub_and_everything_it_started(tmp_path, kubeconfig, sig):
    hub = HubProcess(tmp_path / "hub", kubeconfig)
    started = children(hub.state)
    names = " ".join(started.values())
    assert "karvdash_hub.apps.dashboard" in names and "configurable-http-proxy" in names
    t = time.monotonic()
    hub.proc.send_signal(sig)
    hub.proc.wait(HANG)
    hub_took = time.monotonic() - t
    all_took = hub_took + wait_gone(started, HANG)
    print(f"{sig.name}: hub exited in {hub_took:.2f}s, all {len(started) + 1} in {all_took:.2f}s")
    assert hub.proc.returncode == 0, hub.log.read_text()[-2000:]
    assert children(hub.state) == {}


def test_a_killed_hub_takes_what_it_started_with_it(tmp_path, kubeconfig):
    hub = HubProcess(tmp_path / "hub", kubeconfig)
    started = children(hub.state)
    hub.proc.kill()
    hub.proc.wait()
    took = wait_gone(started, HANG)
    print(f"SIGKILL: the hub's {len(started)} processes gone {took:.2f}s after it")


def test_a_run_after_a_crash_stops_what_the_crash_left_and_starts(tmp_path, kubeconfig):
    ports = free_ports(6)
    state = tmp_path / "hub"
    state.mkdir()
    (state / "stale-dashboard.json").write_text("{}")
    # a dashboard of a crashed run (an older one, which did not die with its hub), still
    # holding the dashboard's port
    env = {
        **os.environ,
        "KARVDASH_STATE_DIR": str(state.resolve()),
        "JUPYTERHUB_API_TOKEN": "left-over",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{ports[3]}",
    }
    stale = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "karvdash_hub.apps.dashboard",
            "--config",
            str(state / "stale-dashboard.json"),
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not _listening(ports[3]):
            assert stale.poll() is None and time.monotonic() < deadline, "the stale dashboard"
            time.sleep(0.1)
        hub = HubProcess(state, kubeconfig, ports=ports)  # up: its own dashboard answers
        try:
            assert stale.wait(5) is not None
            assert f"stopping pid {stale.pid}, left by a previous run" in hub.log.read_text()
        finally:
            hub.stop()
    finally:
        if stale.poll() is None:
            stale.kill()


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
