#!/usr/bin/env python3
"""Plays systemd's side of sd_notify for tests: binds a datagram socket at PATH (what
NOTIFY_SOCKET names) and prints each message it receives on one line, its lines joined by
" | ", as it arrives. Prints "listening" first.

    tests/support/notify_listener.py /tmp/dir/notify.sock
"""
import os
import socket
import sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o777)  # a server run as another user may send too
print("listening", flush=True)
while True:
    message = sock.recv(65536).decode("utf-8", "replace")
    print(" | ".join(message.strip().split("\n")), flush=True)
