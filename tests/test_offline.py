"""Nothing reaches the network at run time.

The suite runs offline (``tests/conftest.py``): every Python process it starts,
including the kernels in which nbval executes every chapter, refuses connections
other than loopback and Unix sockets.  These tests show that the guard is active
where the chapters run, and, where ``unshare -n`` is permitted, that the
experiments also complete in a network namespace without interfaces (which also
covers sockets opened by C libraries).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

SPEEDUPS = ("from learning_dynamics.book.bench import speedups\n"
            "names = []\n"
            "for chapter, what, fast, slow in speedups():\n"
            "    fast(); names.append(chapter)\n"
            "print('ran offline:', ', '.join(names))\n")

PROBE = """\
import socket, urllib.request
for attempt in (lambda: socket.create_connection(("192.0.2.1", 80), timeout=2),
                lambda: urllib.request.urlopen("http://example.com", timeout=2)):
    try:
        attempt()
        print("REACHED THE NETWORK")
    except OSError as error:
        print("refused:", error)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
client = socket.create_connection(server.getsockname(), timeout=2)
print("loopback works")
"""

offline_suite = pytest.mark.skipif(
    os.environ.get("LEARNING_DYNAMICS_ALLOW_NETWORK") == "1",
    reason="LEARNING_DYNAMICS_ALLOW_NETWORK=1 switches the offline guard off")


def _refused_twice(text: str) -> bool:
    return (text.count("network access refused by the offline test guard") == 2
            and "REACHED THE NETWORK" not in text and "loopback works" in text)


@offline_suite
def test_processes_started_by_the_suite_refuse_the_network():
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _refused_twice(proc.stdout), proc.stdout


@offline_suite
def test_chapter_kernels_refuse_the_network(tmp_path):
    """The kernels nbval starts for the chapters inherit the guard."""
    import nbformat

    from learning_dynamics.book.bench import execute_notebook

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    executed = execute_notebook(notebook, cwd=tmp_path, timeout=120)
    text = "".join(out.get("text", "") for out in executed.cells[0].outputs)
    assert _refused_twice(text), text


@offline_suite
def test_this_process_refuses_the_network():
    assert getattr(socket, "learning_dynamics_offline_guard", False)
    with pytest.raises(OSError, match="refused by the offline test guard"):
        socket.create_connection(("192.0.2.1", 80), timeout=2)


def _unshare_works() -> bool:
    exe = shutil.which("unshare")
    if exe is None:
        return False
    return subprocess.run([exe, "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(),
                    reason="unshare -n is not permitted here (needs user namespaces or "
                           "root); the socket guard above still refuses the network")
def test_experiments_complete_in_a_network_namespace_without_interfaces():
    proc = subprocess.run(["unshare", "-n", sys.executable, "-c", SPEEDUPS],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "01 preliminaries" in proc.stdout
