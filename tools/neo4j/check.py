"""Wait until a Neo4j server really answers Bolt; used by tools/neo4j/neo4j.sh.

With NEO4J_PASSWORD in the environment and the ``neo4j`` driver importable, the check
logs in as NEO4J_USER (default ``neo4j``) and runs ``RETURN 1``. Without the driver it
falls back to the Bolt handshake (the server must answer with a protocol version), which
proves that Bolt listens but not that the password works. The password is only ever read
from the environment, never from the command line.

Example::

    NEO4J_PASSWORD=... python tools/neo4j/check.py 127.0.0.1 7687 --timeout 120 --pid 4242

Exit status: 0 ready, 1 gave up (timeout, refused login, or the server process died).
"""

from __future__ import annotations

import argparse
import os
import socket
import struct
import sys
import time

BOLT_MAGIC = b"\x60\x60\xb0\x17"
# Four proposals, newest first: 5.8 down to 5.0 (a range), then 4.4, then nothing.
BOLT_PROPOSALS = struct.pack(">IIII", 0x00080805, 0x00000404, 0, 0)


def handshake(host: str, port: int) -> str:
    """Return the Bolt version the server agrees to, or raise OSError."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(BOLT_MAGIC + BOLT_PROPOSALS)
        reply = b""
        while len(reply) < 4:
            chunk = sock.recv(4 - len(reply))
            if not chunk:
                raise OSError("server closed the connection during the Bolt handshake")
            reply += chunk
    version = struct.unpack(">I", reply)[0]
    if version == 0:
        raise OSError("server refused every proposed Bolt version")
    return f"{version & 0xFF}.{(version >> 8) & 0xFF}"


def query(host: str, port: int, user: str, password: str) -> str:
    """Log in, run RETURN 1 and return the server agent; raise on any failure."""
    import neo4j  # the driver is a test/tools dependency only

    uri = f"bolt://{host}:{port}"
    with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
        # An auto-commit query in a session: the driver does not retry it (execute_query
        # would, with back-off, which only slows the polling here down).
        with driver.session() as session:
            record = session.run("RETURN 1 AS one").single(strict=True)
            if record["one"] != 1:
                raise RuntimeError(f"RETURN 1 gave {record!r}")
            return session.run("CALL dbms.components() YIELD name, versions RETURN name + '/' + versions[0] AS agent").single()["agent"]


def alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--timeout", type=float, default=0, help="seconds to keep trying")
    parser.add_argument("--pid", type=int, help="give up at once if this process dies")
    args = parser.parse_args(argv)

    password = os.environ.get("NEO4J_PASSWORD")
    user = os.environ.get("NEO4J_USER", "neo4j")
    try:
        import neo4j  # noqa: F401

        use_driver = bool(password)
    except ImportError:
        use_driver = False
        print("check: neo4j driver not importable; checking the Bolt handshake only", file=sys.stderr)

    deadline = time.monotonic() + args.timeout
    last_error = "not tried"
    while True:
        if not alive(args.pid):
            print(f"check: server process {args.pid} is gone", file=sys.stderr)
            return 1
        try:
            if use_driver:
                agent = query(args.host, args.port, user, password)
                print(f"check: {agent} answered RETURN 1 as {user}", file=sys.stderr)
            else:
                version = handshake(args.host, args.port)
                print(f"check: Bolt {version} handshake answered", file=sys.stderr)
            return 0
        except Exception as error:  # noqa: BLE001 - report whatever stopped the check
            if type(error).__name__ in ("AuthError", "Forbidden"):
                print(f"check: login as {user} refused: {error}", file=sys.stderr)
                return 1
            last_error = f"{type(error).__name__}: {error}"
        if time.monotonic() >= deadline:
            print(f"check: no answer on {args.host}:{args.port}: {last_error}", file=sys.stderr)
            return 1
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
