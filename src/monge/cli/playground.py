"""``monge playground``: serve the playground's page (:mod:`monge.playground`) on this machine and open it.

The server binds 127.0.0.1 unless ``--host`` names another address (then it warns: the page and its
solvers serve anyone who can reach that address), prints ``monge playground: http://HOST:PORT/``
once it listens, and runs until Ctrl-C (exit 0). torch and the app are imported in :func:`run`, not
when the parser is built, so that ``monge --help`` stays fast.
"""

from __future__ import annotations

import argparse
import ctypes
import ipaddress
import socket
import sys
import webbrowser

from monge.errors import InputError

#: The default port; 0 asks the system for any free one.
PORT = 8765
#: glibc's mallopt parameter M_MMAP_THRESHOLD, and the value set (see :func:`return_freed_memory`).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``playground`` subcommand to an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "playground", help="neurons as particles and transport plans, live in the browser (a local web page)",
        description="Start a local web server with one page and two boards: the flow board (the neurons of a shallow "
                    "network moving as particles of the Wasserstein gradient flow, against a target you can draw) and "
                    "the transport board (drag points and watch Monge's matching, Kantorovich's plan and Sinkhorn's "
                    "blur respond). Everything is computed by monge's solvers; the page only draws. Ctrl-C stops it.",
        epilog="The settings live in the page's URL (#board=flow&n=200&start=bad&seed=3): copy it to share one. "
               "--out, --seed and --quiet are accepted for uniformity and unused (the URL is always printed).")
    parser.add_argument("--port", type=_port, default=PORT, metavar="N",
                        help=f"TCP port (default {PORT}; 0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                        help="address to listen on (default 127.0.0.1: this machine only; another address serves "
                             "anyone on the network, with a warning)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL only")
    parser.set_defaults(func=run)
    return parser


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a port number in [0, 65535]") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value}; expected a port number in [0, 65535]")
    return value


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only: ``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one); the port in use is an InputError."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise InputError(f"host (--host): {host!r} ({error.strerror}); expected an address of this machine") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise InputError(f"port (--port): cannot listen on {host}:{port} ({error.strerror}); expected a free port "
                         "(--port 0 picks one)") from None
    sock.listen(128)
    return sock


def return_freed_memory() -> bool:
    """Have glibc map allocations of :data:`MMAP_THRESHOLD` bytes and more apart, so that freeing one
    gives it back to the system; return whether the setting was made (Linux with glibc only).

    A process-wide setting, so the command's and not the app's: by default glibc raises that
    threshold up to 32 MiB as large blocks are freed, and then keeps the flows' freed N x N
    temporaries (32 MB each at N = 2000) in its heap. Measured with four pages at N = 2000 (RBF
    target): 626 MB resident without, 376 MB with (300 MB of it torch and the solvers, idle).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # another C library
        return False


def run(args: argparse.Namespace) -> int:
    """Serve the playground until Ctrl-C; return 0."""
    import uvicorn

    from monge.playground import create_app
    from monge.playground.protocol import MAX_MESSAGE

    sock = listen(args.host, args.port)
    try:
        return_freed_memory()
        port = sock.getsockname()[1]
        origins = []
        if not is_loopback(args.host):
            print(f"monge playground: warning: --host {args.host} serves the playground to anyone who can reach "
                  "this address (no login); use the default 127.0.0.1 to keep it on this machine", file=sys.stderr)
            origins = _origins(args.host, port)
        url = f"http://{_url_host(args.host)}:{port}/"
        config = uvicorn.Config(create_app(origins=origins), log_level="warning", ws="websockets-sansio",
                                ws_max_size=MAX_MESSAGE, ws_per_message_deflate=False, timeout_graceful_shutdown=2,
                                lifespan="on")
        server = uvicorn.Server(config)
        print(f"monge playground: {url}", flush=True)
        if not args.no_browser:
            webbrowser.open(url)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn shuts down gracefully, then raises the Ctrl-C it caught
            pass
    finally:
        sock.close()
    return 0


def _url_host(host: str) -> str:
    """How the printed URL names ``host``: a wildcard address as 127.0.0.1, an IPv6 address in brackets."""
    host = host.strip("[]")
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _origins(host: str, port: int) -> list[str]:
    """The page origins a non-loopback ``--host`` serves: the address itself, or for 0.0.0.0 / :: this
    machine's name and addresses."""
    names = {host}
    if host in ("0.0.0.0", "::"):
        names = {socket.gethostname()}
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        except socket.gaierror:
            pass
    return [f"http://[{n}]:{port}" if ":" in n else f"http://{n}:{port}" for n in sorted(names)]
