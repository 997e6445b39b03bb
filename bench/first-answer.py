#!/usr/bin/python3
"""bench/first-answer.py PORT TIMEOUT STDOUT STDERR CMD...: start CMD (its own session,
output into the files STDOUT and STDERR), send GET / to 127.0.0.1:PORT until one is
answered with 200, print the milliseconds from the start to that answer (nothing on a
timeout or when CMD exits first), then stop CMD's session.  Polling from one process
keeps the measurement's own cost at a fraction of a millisecond per try."""
import os
import signal
import socket
import subprocess
import sys
import time

port, timeout = int(sys.argv[1]), float(sys.argv[2])
out, err = open(sys.argv[3], "wb"), open(sys.argv[4], "wb")
t0 = time.monotonic()
proc = subprocess.Popen(sys.argv[5:], stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
ms = None
try:
    while time.monotonic() - t0 < timeout and proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            if data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200"):
                ms = (time.monotonic() - t0) * 1000
                break
        except OSError:
            time.sleep(0.001)
finally:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=5)
            break
        except subprocess.TimeoutExpired:
            pass
if ms is not None:
    print(f"{ms:.0f}")
