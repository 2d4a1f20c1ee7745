#!/usr/bin/env python3
"""Stands in for systemd in tests of socket activation and readiness.

Usage: socket-activator.py LISTEN COMMAND...
  LISTEN is host:port (port 0 picks one), an absolute path for a UNIX socket, or "unbound" (a socket
  never bound nor listened on).
Binds and listens (backlog 511), then runs COMMAND with the socket as descriptor 3 and LISTEN_FDS=1,
LISTEN_PID (its own pid) and LISTEN_FDNAMES=mx4map set, as systemd does, and keeps the socket across
restarts of COMMAND. NOTIFY_SOCKET points at a datagram socket of its own; what arrives there is reported.
Reads commands on stdin, one per line: start, restart (SIGTERM, wait for exit, start), stop, quit.
Reports on stdout as JSON lines with a "activator" key; COMMAND's own output passes through.
"""
import json, os, selectors, signal, socket, subprocess, sys, tempfile

def report(**fields):
    sys.stdout.write(json.dumps({"activator": True, **fields}) + "\n")
    sys.stdout.flush()

listen, command = sys.argv[1], sys.argv[2:]
if listen == "unbound":
    # A socket unit gone wrong: a stream socket that was never bound or listened on.
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    address = "unbound"
elif listen.startswith("/"):
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(listen)
    address = listen
else:
    host, port = listen.rsplit(":", 1)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, int(port)))
    address = "%s:%d" % lsock.getsockname()
if listen != "unbound":
    lsock.listen(511)
os.dup2(lsock.fileno(), 3)
os.set_inheritable(3, True)

notify_dir = tempfile.mkdtemp(prefix="mx4map-notify-")
notify_path = os.path.join(notify_dir, "notify")
nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
nsock.bind(notify_path)

env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="mx4map", NOTIFY_SOCKET=notify_path)
child = None

def start():
    global child
    # sh sets LISTEN_PID to its own pid, which exec hands on to COMMAND, as systemd sets it after fork.
    child = subprocess.Popen(["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh"] + command, env=env, pass_fds=(3,))
    report(event="started", pid=child.pid)

def stop():
    global child
    if child and child.poll() is None:
        child.send_signal(signal.SIGTERM)
        child.wait()
        report(event="stopped", status=child.returncode)
    child = None

report(event="listening", address=address)
sel = selectors.DefaultSelector()
sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
sel.register(nsock, selectors.EVENT_READ, "notify")
while True:
    for key, _ in sel.select():
        if key.data == "notify":
            # recv() takes no ancillary data: a barrier's descriptor is closed, which releases systemd-notify.
            report(event="notify", message=nsock.recv(4096).decode())
            continue
        line = sys.stdin.readline()
        what = line.strip()
        if what == "start":
            start()
        elif what == "restart":
            stop()
            start()
        elif what == "stop":
            stop()
        elif what in ("quit", ""):
            stop()
            report(event="quit")
            sys.exit(0)
