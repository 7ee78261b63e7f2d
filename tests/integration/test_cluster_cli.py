"""``python -m karvdash_localcluster up`` (what ``make run`` and ``make cluster`` call)
after a crash: a cluster whose part died is stopped and started again whole, saying
what died, instead of "already running" over a cluster that cannot work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from karvdash_localcluster.processes import alive, recorded_pids

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def cli(state, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "karvdash_localcluster", "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=400,
    )


def test_up_after_a_part_died_starts_the_cluster_again_and_says_what_died(tmp_path):
    state = tmp_path / "cluster"
    after: dict[str, int] = {}
    first = cli(state, "up", "--node", "kwok", "--no-images")
    try:
        assert first.returncode == 0, first.stderr[-2000:]
        again = cli(state, "up", "--node", "kwok", "--no-images")
        assert again.returncode == 0 and "already running" in again.stdout
        before = recorded_pids(state)
        os.kill(before["kube-scheduler"], signal.SIGKILL)  # a crash of one part
        restarted = cli(state, "up", "--node", "kwok", "--no-images")
        print(restarted.stdout)
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        assert "kube-scheduler of the cluster" in restarted.stdout and "died" in restarted.stdout
        after = recorded_pids(state)
        assert after.keys() == before.keys() and all(alive(pid) for pid in after.values())
        assert not any(alive(pid) for pid in before.values())  # the rest was stopped first
        status = cli(state, "status")
        assert status.returncode == 0 and "running from" in status.stdout
    finally:
        assert cli(state, "down").returncode == 0
    assert after and not any(alive(pid) for pid in after.values())
