#!/usr/bin/env python3
"""Stands in for syslogd on a UNIX datagram socket: every message received is appended to a file, one per
line, as syslogd writes a maillog: the <PRI> prefix dropped, the host name put after the time stamp.
Node cannot bind datagram UNIX sockets, hence Python.
Usage: syslog-catcher.py SOCKET_PATH OUTPUT_FILE HOSTNAME; prints "up" once bound."""
import os
import re
import socket
import sys

path, out, host = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
print("up", flush=True)
with open(out, "a", buffering=1) as log:
    while True:
        message = s.recv(65536).decode("utf-8", "replace")
        line = re.sub(r"^<\d+>", "", message).rstrip("\n")
        line = re.sub(r"^(\w{3} [ \d]\d \d\d:\d\d:\d\d) ", lambda m: m.group(1) + " " + host + " ", line)
        log.write(line + "\n")
