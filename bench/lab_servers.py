"""Small real servers for the scan lab, run inside the lab's network namespace.

    python lab_servers.py --http 80 --https 8443 --cert c.pem --key k.pem --ftp 21 --telnet 23
    python lab_servers.py --listen 22,80,31337      (bare listeners for the full-range sweep)

HTTP and HTTPS are Python's http.server (real HTTP, Server header ``SimpleHTTP/0.6 Python/3.x``);
the HTTPS side also accepts TLS 1.0 so weak-protocol detection has something to find. FTP and
Telnet are greeting-only services: enough for banner detection, they never log anyone in.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import ssl
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

FTP_GREETING = b"220 ProFTPD 1.3.8 Server (CyberVault lab) [127.0.0.1]\r\n"
TELNET_GREETING = bytes([255, 253, 24, 255, 253, 32, 255, 251, 1]) + b"\r\nlab login: "


class Page(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"<html><head><title>CyberVault lab</title></head><body>lab</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def greeter(greeting: bytes) -> type[socketserver.BaseRequestHandler]:
    class Greeter(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                self.request.sendall(greeting)
                self.request.settimeout(5)
                self.request.recv(1024)
            except OSError:
                pass

    return Greeter


class Threaded(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(server: socketserver.BaseServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--http", type=int)
    ap.add_argument("--https", type=int)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ftp", type=int)
    ap.add_argument("--telnet", type=int)
    ap.add_argument("--listen", default="")
    args = ap.parse_args()
    if not (args.http or args.https or args.ftp or args.telnet or args.listen):
        # `make bench` runs every bench/*.py: this helper is not a benchmark, so do nothing.
        sys.stdout.write("lab_servers: no services requested (a helper of bench/lab.py)\n")
        return
    keep: list[object] = []
    if args.http:
        serve(ThreadingHTTPServer((args.bind, args.http), Page))
    if args.https:
        srv = ThreadingHTTPServer((args.bind, args.https), Page)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        serve(srv)
    if args.ftp:
        serve(Threaded((args.bind, args.ftp), greeter(FTP_GREETING)))
    if args.telnet:
        serve(Threaded((args.bind, args.telnet), greeter(TELNET_GREETING)))
    for spec in filter(None, args.listen.split(",")):
        host, _, port = spec.rpartition("@")
        s = socket.socket(socket.AF_INET6 if ":" in (host or "") else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host or args.bind, int(port)))
        s.listen(128)
        keep.append(s)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
