"""A throw-away network namespace with real services, for scanner tests and benchmarks.

Everything the lab starts lives in a namespace it creates (``ip netns add``) and tears down: scan
traffic to it never leaves this machine's kernel and touches no shared service. Needs root.

    with Lab() as lab:
        lab.start_services()                  # HTTP 80, HTTPS 8443 (expired self-signed), SSH 22,
                                              # Redis 6379 (no password), FTP 21, Telnet 23
        lab.run([python, "-m", "cybervault.cli.scan", "127.0.0.1", "--json"])
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVERS = Path(__file__).resolve().parent / "lab_servers.py"
PYTHON = sys.executable

LAB_PORTS = {"http": 80, "https": 8443, "ssh": 22, "redis": 6379, "ftp": 21, "telnet": 23}


def can_run() -> tuple[bool, str]:
    """Whether this process may build a lab, and why not."""
    if os.geteuid() != 0:
        return False, "network-namespace lab needs root (ip netns add)"
    if not shutil.which("ip"):
        return False, "iproute2 'ip' command not found"
    return True, ""


def ensure_apt(*packages: str) -> None:
    """Install Debian packages the lab needs (nmap, openssh-server) when they are missing."""
    probe = {"nmap": "/usr/bin/nmap", "openssh-server": "/usr/sbin/sshd",
             "redis-server": "/usr/bin/redis-server"}  # fmt: skip
    missing = [p for p in packages if not Path(probe.get(p, f"/usr/bin/{p}")).exists()]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, capture_output=True)


def write_expired_cert(directory: Path, common_name: str = "lab.cybervault.test") -> tuple[Path, Path]:
    """A self-signed certificate that expired in 2021, for the certificate_problem checks."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CyberVault Lab")])  # fmt: skip
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2021, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "lab.crt", directory / "lab.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Lab:
    def __init__(self, prefix: str = "cvlab") -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.created = False

    # -- lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.create()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def create(self) -> None:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.created = True
        self.ip("link", "set", "lo", "up")

    def destroy(self) -> None:
        for p in self.procs:  # only what this lab started, by pid
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.created:
            subprocess.run(["ip", "netns", "del", self.name], check=False)
            self.created = False
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- running things inside ----------------------------------------------------------------------
    def cmd(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def ip(self, *args: str) -> None:
        subprocess.run(self.cmd(["ip", *args]), check=True)

    def run(
        self, argv: list[str], timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        full = dict(os.environ, **(env or {}))
        full["PYTHONPATH"] = str(REPO / "src") + os.pathsep + full.get("PYTHONPATH", "")
        return subprocess.run(self.cmd(argv), capture_output=True, text=True, timeout=timeout, env=full)

    def spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.cmd(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def wait_ports(self, ports: list[tuple[str, int]], deadline: float = 15.0) -> None:
        """Poll from inside the namespace until every (host, port) accepts connections."""
        script = (
            "import socket,sys,time\n"
            f"todo={ports!r}\nend=time.monotonic()+{deadline}\n"
            "while todo and time.monotonic()<end:\n"
            "    h,p=todo[0]\n"
            "    try:\n"
            "        socket.create_connection((h,p),0.5).close(); todo.pop(0)\n"
            "    except OSError:\n"
            "        time.sleep(0.05)\n"
            "sys.exit(1 if todo else 0)\n"
        )
        res = self.run([PYTHON, "-c", script], timeout=deadline + 5)
        if res.returncode != 0:
            dead = [p for p in self.procs if p.poll() is not None and p.stderr]
            errs = b"".join(p.stderr.read() for p in dead if p.stderr)
            raise RuntimeError(f"lab services did not come up on {ports}: {errs.decode(errors='replace')}")

    # -- service sets ---------------------------------------------------------------------------------
    def start_services(self) -> dict[str, int]:
        """HTTP, HTTPS (expired self-signed, TLS 1.0 allowed), OpenSSH, Redis, FTP and Telnet on lo."""
        ensure_apt("openssh-server", "redis-server")
        cert, key = write_expired_cert(self.dir)
        p = LAB_PORTS
        self.spawn([PYTHON, str(SERVERS), "--http", str(p["http"]), "--https", str(p["https"]),
                    "--cert", str(cert), "--key", str(key), "--ftp", str(p["ftp"]),
                    "--telnet", str(p["telnet"])])  # fmt: skip
        self.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(p["redis"]), "--save", "",
                    "--appendonly", "no", "--dir", str(self.dir)])  # fmt: skip
        self.start_sshd(p["ssh"])
        self.wait_ports([("127.0.0.1", port) for port in p.values()])
        return dict(p)

    def start_sshd(self, port: int) -> None:
        hostkey = self.dir / "ssh_host_ed25519_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hostkey)], check=True)
        conf = self.dir / "sshd_config"
        conf.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {hostkey}\nPidFile {self.dir / 'sshd.pid'}\n"
            "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n"
            "AuthorizedKeysFile none\n"
        )
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation directory
        self.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)])

    def start_listeners(self, specs: list[str]) -> None:
        """Bare listening sockets (``port`` or ``addr@port``) for sweep benchmarks."""
        self.spawn([PYTHON, str(SERVERS), "--listen", ",".join(specs)])
        pairs = []
        for spec in specs:
            host, _, port = spec.rpartition("@")
            pairs.append((host or "127.0.0.1", int(port)))
        self.wait_ports(pairs)

    def add_silent_range(self, cidr: str, live: list[str]) -> None:
        """Route ``cidr`` into a veth pair whose far end has no addresses (and no ARP), so packets to
        it vanish like packets to absent hosts; ``live`` addresses are made local so only they answer."""
        net = ipaddress.ip_network(cidr)
        self.ip("link", "add", "cvsink0", "type", "veth", "peer", "name", "cvsink1")
        for dev in ("cvsink0", "cvsink1"):
            self.ip("link", "set", dev, "arp", "off")
            self.ip("link", "set", dev, "up")
        self.ip("route", "add", str(net), "dev", "cvsink0")
        for addr in live:
            self.ip("addr", "add", f"{addr}/32", "dev", "lo")


def wait_for(predicate: object, deadline: float = 10.0, interval: float = 0.05) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return False


if __name__ == "__main__":
    # `make bench` runs every bench/*.py; the lab is a helper of the scan benchmarks, not one itself.
    print("lab: helper for scan_full_range.py, scan_detect.py and scan_hosts.py; nothing to measure")
