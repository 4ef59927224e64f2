"""The TCP connect sweep: raw non-blocking sockets driven by one epoll loop.

Runs synchronously (in a thread, or in a worker process for big sweeps) because a tight epoll loop
over plain sockets costs a fraction of what asyncio's per-socket transports and futures would.
Hosts are walked in order so each finishes, and can be reported, while later ones are still swept.
"""

from __future__ import annotations

import errno
import ipaddress
import resource
import select
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from time import monotonic

# close() of a connected socket sends RST instead of FIN: no TIME_WAIT pile-up of ephemeral ports.
_LINGER_RST = struct.pack("ii", 1, 0)
_RETRYABLE_LOCAL = {errno.EAGAIN, errno.EADDRNOTAVAIL, errno.ENOBUFS, errno.EMFILE, errno.ENFILE}
_STREAM = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
_POLL_MASK = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
LOCAL_RETRY_LIMIT = 200  # attempts to get a local port/descriptor before a port is given up
MIN_TIMEOUT = 0.1  # as nmap -T4: never give up on a port faster than 100 ms


@dataclass
class HostSweep:
    """What the sweep learnt about one host."""

    host: str
    open_ports: list[int] = field(default_factory=list)
    responded: bool = False  # any SYN-ACK or RST: the host is up
    self_connects: int = 0


@dataclass
class SweepCounter:
    """Ports finished so far; written by the sweep thread, read by whoever reports progress."""

    done: int = 0


class _Rtt:
    """RFC 6298 smoothing, as nmap keeps per host and per scan group."""

    def __init__(self) -> None:
        self.srtt: float | None = None
        self.rttvar = 0.0

    def sample(self, rtt: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt

    def timeout(self, ceiling: float) -> float | None:
        if self.srtt is None:
            return None
        return min(ceiling, max(MIN_TIMEOUT, self.srtt + 4 * self.rttvar))


@dataclass
class _Host:
    result: HostSweep
    family: int
    remaining: int
    rtt: _Rtt = field(default_factory=_Rtt)


def raise_fd_limit(wanted: int) -> int:
    """Lift the soft open-file limit towards the hard one; return how many sockets we may hold."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted + 200:
        target = wanted + 200 if hard == resource.RLIM_INFINITY else min(hard, wanted + 200)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(16, (soft if soft != resource.RLIM_INFINITY else wanted + 200) - 200)


def sweep(
    hosts: Sequence[tuple[str, Sequence[int]]],
    *,
    timeout: float = 1.0,
    window: int = 2000,
    retries: int = 1,
    cancel: threading.Event | None = None,
    counter: SweepCounter | None = None,
    on_host_done: Callable[[HostSweep], None] | None = None,
) -> list[HostSweep]:
    """Connect to every (host, port); return per-host results in input order.

    A port is open when the handshake completes and the local end is not the target itself (on
    loopback a connect to a free ephemeral port can be given that port as its source and "connect"
    to itself). Refused means closed. Silence past the timeout is retried ``retries`` times, then
    the port counts as filtered. The timeout starts at ``timeout`` and follows measured round trips:
    the host's own, or the whole sweep's for a host that has not answered yet (as nmap does).
    """
    window = max(1, min(window, raise_fd_limit(window)))
    counter = counter or SweepCounter()
    ceiling = max(timeout, MIN_TIMEOUT)
    group = _Rtt()
    states = [_Host(HostSweep(h), _family(h), len(ports)) for h, ports in hosts]
    for st in states:
        if st.remaining == 0 and on_host_done:
            on_host_done(st.result)

    def work() -> Iterator[tuple[int, int, int]]:
        for idx, (_, ports) in enumerate(hosts):
            for port in ports:
                yield idx, port, 0

    def wait_limit(st: _Host, attempt: int) -> float:
        base = st.rtt.timeout(ceiling) or group.timeout(ceiling) or ceiling
        return base * (1 + attempt)  # a retry waits longer: the first try may have met a queue

    todo = work()
    retry_q: deque[tuple[int, int, int]] = deque()
    inflight: dict[int, tuple[socket.socket, int, int, float, int]] = {}
    local_fail: dict[tuple[int, int], int] = {}
    spare: dict[int, socket.socket] = {}  # per address family: a socket whose connect was refused
    limit = window
    ep = select.epoll()

    def finish(idx: int) -> None:
        st = states[idx]
        st.remaining -= 1
        counter.done += 1
        if st.remaining == 0 and on_host_done:
            on_host_done(st.result)

    def refused(idx: int, started: float) -> None:
        st = states[idx]
        st.result.responded = True
        rtt = monotonic() - started
        st.rtt.sample(rtt)
        group.sample(rtt)
        finish(idx)

    def settle(sock: socket.socket, idx: int, port: int, started: float, err: int, now: float) -> None:
        st = states[idx]
        if err == 0 or err == errno.ECONNREFUSED:
            st.result.responded = True
            st.rtt.sample(now - started)
            group.sample(now - started)
        if err == 0:
            local = sock.getsockname()
            if local[0] == st.result.host and local[1] == port:
                st.result.self_connects += 1  # connected to ourselves: nothing listens there
            else:
                st.result.open_ports.append(port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        sock.close()
        finish(idx)

    try:
        exhausted = False
        next_expiry = monotonic() + MIN_TIMEOUT / 2
        while True:
            if cancel is not None and cancel.is_set():
                break
            # Fill the window: retries first so a silent port's verdict is not starved.
            while len(inflight) < limit:
                if retry_q:
                    item = retry_q.popleft()
                elif not exhausted:
                    nxt = next(todo, None)
                    if nxt is None:
                        exhausted = True
                        continue
                    item = nxt
                else:
                    break
                idx, port, attempt = item
                st = states[idx]
                addr = (st.result.host, port)
                sock = spare.pop(st.family, None)
                if sock is None:
                    try:
                        sock = socket.socket(st.family, _STREAM)
                    except OSError as exc:
                        if exc.errno not in _RETRYABLE_LOCAL:
                            raise
                        retry_q.appendleft(item)  # out of descriptors: wait for in-flight ones
                        limit = max(16, len(inflight) * 3 // 4)
                        if not inflight:
                            raise
                        break
                started = monotonic()
                rc = sock.connect_ex(addr)
                if rc == errno.ECONNABORTED:
                    rc = sock.connect_ex(addr)  # a reused socket's first connect() only resets it
                if rc == errno.EINPROGRESS:
                    # On loopback and fast links the RST has usually been handled before connect()
                    # returned: reading SO_ERROR now skips the epoll round trip for closed ports,
                    # and the socket can serve the next port (no socket()/close() per port).
                    early = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if early == errno.ECONNREFUSED:
                        refused(idx, started)
                        spare[st.family] = sock
                        continue
                    if early:
                        settle(sock, idx, port, started, early, monotonic())
                        continue
                    fd = sock.fileno()
                    ep.register(fd, _POLL_MASK)
                    inflight[fd] = (sock, idx, port, started, attempt)
                elif rc in _RETRYABLE_LOCAL:
                    # Out of local ports or descriptors: back off the window and try again later,
                    # but give the port up if even an idle sweep cannot get a local port for it.
                    sock.close()
                    key = (idx, port)
                    local_fail[key] = local_fail.get(key, 0) + 1
                    if local_fail[key] > LOCAL_RETRY_LIMIT:
                        finish(idx)
                        continue
                    retry_q.appendleft(item)
                    limit = max(16, len(inflight) * 3 // 4)
                    if not inflight:
                        ep.poll(0.01)  # nothing will free a port sooner: pause briefly
                    break
                else:
                    settle(sock, idx, port, started, rc, monotonic())
            if not inflight and not retry_q and exhausted:
                break
            if not inflight:
                continue
            events = ep.poll(max(0.0, min(next_expiry - monotonic(), 0.05)), 1024)
            now = monotonic()
            for fd, _ in events:
                entry = inflight.pop(fd, None)
                if entry is None:
                    continue
                sock, idx, port, started, _attempt = entry
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                settle(sock, idx, port, started, err, now)  # close() also removes it from epoll
            if now >= next_expiry:
                # Timeouts are judged with the current estimate, so a host group that turns out to
                # answer in microseconds stops waiting the initial second on its silent members.
                next_expiry = now + MIN_TIMEOUT / 2
                expired = [
                    fd for fd, (_, idx, _, started, attempt) in inflight.items()
                    if now - started > wait_limit(states[idx], attempt)
                ]  # fmt: skip
                for fd in expired:
                    sock, idx, port, _, attempt = inflight.pop(fd)
                    sock.close()
                    if attempt < retries:
                        retry_q.append((idx, port, attempt + 1))
                    else:
                        finish(idx)
            if limit < window:
                limit = min(window, limit + 8)  # recover slowly after local exhaustion
    finally:
        for sock, *_ in inflight.values():
            sock.close()
        for sock in spare.values():
            sock.close()
        ep.close()
    return [st.result for st in states]


def _family(host: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
