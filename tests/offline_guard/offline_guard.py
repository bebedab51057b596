"""Refuse network connections: only loopback and Unix sockets can be reached.

``tests/conftest.py`` puts this folder first on ``PYTHONPATH`` and sets
``LEARNING_DYNAMICS_OFFLINE=1``, so the kernels that nbval and the book build start
for the chapters import this module at start-up.  Connections to loopback and Unix
sockets (the kernels' own channels, the browser test's server) are allowed; any
other ``connect``, ``sendto`` or name lookup raises ``OSError`` with a message that
says why.  Only Python's ``socket`` module is guarded: a C library that opens its
own sockets is not (``unshare -n``, where permitted, covers that case in
``tests/test_offline.py``).
"""
from __future__ import annotations

import ipaddress
import socket

MESSAGE = ("network access refused by the offline test guard "
           "(LEARNING_DYNAMICS_OFFLINE=1): {what}")
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local_host(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]").split("%")[0]
    if host.lower() in LOCAL_NAMES or host == socket.gethostname():
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _is_local_address(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        return _is_local_host(address[0])
    return True  # other families (netlink...) are not the internet


def install() -> None:
    """Patch ``socket`` so that only loopback and Unix sockets can be reached."""
    if getattr(socket, "learning_dynamics_offline_guard", False):
        return
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto
    original_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        if not _is_local_address(address):
            raise OSError(MESSAGE.format(what=f"connect to {address!r}"))
        return original_connect(self, address)

    def connect_ex(self, address):
        if not _is_local_address(address):
            raise OSError(MESSAGE.format(what=f"connect to {address!r}"))
        return original_connect_ex(self, address)

    def sendto(self, data, *args):
        if not _is_local_address(args[-1]):
            raise OSError(MESSAGE.format(what=f"send to {args[-1]!r}"))
        return original_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            raise OSError(MESSAGE.format(what=f"look up {host!r}"))
        return original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.sendto = sendto
    socket.getaddrinfo = getaddrinfo
    socket.learning_dynamics_offline_guard = True
