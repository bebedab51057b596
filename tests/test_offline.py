"""Nothing reaches the network at run time: the package's experiments run with networking off."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

SCRIPT = ("from learning_dynamics.book.bench import speedups\n"
          "names = []\n"
          "for chapter, what, fast, slow in speedups():\n"
          "    fast(); names.append(chapter)\n"
          "print('ran offline:', ', '.join(names))\n")


def _unshare_works() -> bool:
    exe = shutil.which("unshare")
    if exe is None:
        return False
    return subprocess.run([exe, "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="unshare -n is not permitted here; see the socket-patch test")
def test_experiments_complete_in_a_network_namespace_without_interfaces():
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "01 preliminaries" in proc.stdout


def test_experiments_complete_when_every_connection_is_refused(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted during an experiment")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    namespace: dict = {}
    exec(SCRIPT, namespace)
