"""The TCP connect sweep: raw non-blocking sockets driven by one epoll loop.

Runs synchronously (in a thread, or in a worker process for big sweeps) because a tight epoll loop
over plain sockets costs a fraction of what asyncio's per-socket transports and futures would.
Hosts are walked in order so each finishes, and can be reported, while later ones are still swept.
"""

from __future__ import annotations

import errno
import heapq
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
_POLL_MASK = select.EPOLLOUT | select.EPOLLERR | select.EPOLLHUP
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


@dataclass
class _Host:
    result: HostSweep
    family: int
    remaining: int
    srtt: float | None = None
    rttvar: float = 0.0
    timeout: float = 1.0
    max_timeout: float = 1.0

    def sample(self, rtt: float) -> None:
        # RFC 6298 smoothing, as nmap does for its per-host timeout.
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt
        self.timeout = min(self.max_timeout, max(MIN_TIMEOUT, self.srtt + 4 * self.rttvar))


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
    to itself). Refused means closed; silence past the host's adaptive timeout is retried
    ``retries`` times, then the port counts as filtered.
    """
    window = max(1, min(window, raise_fd_limit(window)))
    counter = counter or SweepCounter()
    states = [
        _Host(HostSweep(h), _family(h), len(ports), timeout=timeout, max_timeout=max(timeout, MIN_TIMEOUT))
        for h, ports in hosts
    ]
    for st in states:
        if st.remaining == 0 and on_host_done:
            on_host_done(st.result)

    def work() -> Iterator[tuple[int, int, int]]:
        for idx, (_, ports) in enumerate(hosts):
            for port in ports:
                yield idx, port, 0

    todo = work()
    retry_q: deque[tuple[int, int, int]] = deque()
    inflight: dict[int, tuple[socket.socket, int, int, float, int]] = {}
    deadlines: list[tuple[float, int, int]] = []  # (deadline, fd, seq) with lazy deletion
    seqs: dict[int, int] = {}
    seq = 0
    limit = window
    ep = select.epoll()

    def finish(idx: int) -> None:
        st = states[idx]
        st.remaining -= 1
        counter.done += 1
        if st.remaining == 0 and on_host_done:
            on_host_done(st.result)

    def settle(sock: socket.socket, idx: int, port: int, started: float, err: int, now: float) -> None:
        st = states[idx]
        if err == 0:
            st.result.responded = True
            st.sample(now - started)
            local = sock.getsockname()
            if local[0] == st.result.host and local[1] == port:
                st.result.self_connects += 1  # connected to ourselves: nothing listens there
            else:
                st.result.open_ports.append(port)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
        elif err == errno.ECONNREFUSED:
            st.result.responded = True
            st.sample(now - started)
        sock.close()
        finish(idx)

    try:
        exhausted = False
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
                sock = socket.socket(st.family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
                started = monotonic()
                rc = sock.connect_ex((st.result.host, port))
                if rc == errno.EINPROGRESS:
                    # On loopback and fast links the RST has usually been handled before connect()
                    # returned: reading SO_ERROR now skips the epoll round trip for closed ports.
                    early = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if early:
                        settle(sock, idx, port, started, early, monotonic())
                        continue
                    fd = sock.fileno()
                    ep.register(fd, _POLL_MASK)
                    inflight[fd] = (sock, idx, port, started, attempt)
                    seq += 1
                    seqs[fd] = seq
                    wait = st.timeout * (2**attempt) if attempt else st.timeout
                    heapq.heappush(deadlines, (started + min(wait, st.max_timeout * 2), fd, seq))
                elif rc in _RETRYABLE_LOCAL:
                    # Out of local ports or descriptors: back off the window and try again later.
                    sock.close()
                    retry_q.appendleft(item)
                    limit = max(16, len(inflight) * 3 // 4)
                    break
                else:
                    settle(sock, idx, port, started, rc, monotonic())
            if not inflight and not retry_q and exhausted:
                break
            if not inflight:
                continue
            now = monotonic()
            wait_for = max(0.0, min(deadlines[0][0] - now, 0.05)) if deadlines else 0.05
            events = ep.poll(wait_for, 1024)
            now = monotonic()
            for fd, _ in events:
                entry = inflight.pop(fd, None)
                if entry is None:
                    continue
                sock, idx, port, started, _attempt = entry
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                settle(sock, idx, port, started, err, now)  # close() also removes it from epoll
            while deadlines and deadlines[0][0] <= now:
                _, fd, s = heapq.heappop(deadlines)
                entry = inflight.get(fd)
                if entry is None or seqs.get(fd) != s:
                    continue
                del inflight[fd]
                sock, idx, port, started, attempt = entry
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
        ep.close()
    return [st.result for st in states]


def _family(host: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
