"""run_scan: targets and options in, an async stream of per-host results out.

Phases: host discovery (ranges only) -> connect sweep of the depth's ports -> service detection on
open ports, overlapping: a host's detection starts as soon as its sweep is done.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable

from cybervault.scanner.backends import SweepJob, stream_sweep
from cybervault.scanner.models import HostResult, PortResult, Progress, ScanOptions
from cybervault.scanner.ports import DISCOVERY_PORTS, ports_for
from cybervault.scanner.targets import expand_targets

__all__ = ["expand_targets", "run_scan"]

ProgressCallback = Callable[[Progress], Awaitable[None] | None]
HOSTS_IN_DETECTION = 32  # hosts whose open ports are being fingerprinted at once
PORTS_IN_DETECTION = 128  # ports fingerprinted at once (each may hold a dozen probe connections)


class _Tracker:
    def __init__(self, hosts_total: int, ports_per_host: int) -> None:
        self.hosts_total = hosts_total
        self.ports_per_host = ports_per_host
        self.hosts_done = 0
        self.sweep_done = 0  # ports settled by the sweep
        self.skipped = 0  # ports of hosts found dead by discovery
        self.finished = False

    def snapshot(self) -> Progress:
        total = self.hosts_total * self.ports_per_host
        done = min(total, self.sweep_done + self.skipped)
        if self.finished:
            percent = 100.0
        else:
            share = done / total if total else 0.0
            # Sweep is ~90% of a scan's work; detection of the finished hosts is the rest.
            host_share = self.hosts_done / self.hosts_total if self.hosts_total else 0.0
            percent = min(99.9, round(100 * (0.9 * share + 0.1 * host_share), 1))
        return Progress(self.hosts_total, self.hosts_done, total, done, percent)


def _unique_hosts(targets: list[str], max_hosts: int) -> list[str]:
    seen: dict[str, None] = {}
    for t in targets:
        for h in expand_targets(t, max_hosts):
            seen.setdefault(h, None)
            if len(seen) > max_hosts:
                raise ValueError(f"targets cover more than {max_hosts} hosts")
    return list(seen)


async def run_scan(
    targets: list[str],
    options: ScanOptions,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: asyncio.Event | None = None,
) -> AsyncIterator[HostResult]:
    """Scan ``targets`` (IPs or CIDRs); yield one HostResult per alive host as soon as it is done.

    Stops within about a second once ``cancel`` is set. Scope checks are the caller's job.
    """
    hosts = _unique_hosts(targets, options.max_hosts)
    ports = ports_for(options)
    cancel = cancel or asyncio.Event()
    tracker = _Tracker(len(hosts), len(ports))
    reporter = asyncio.ensure_future(_report(tracker, on_progress, cancel)) if on_progress else None
    results: asyncio.Queue[HostResult | None] = asyncio.Queue()
    producer = asyncio.ensure_future(_produce(hosts, ports, options, cancel, tracker, results))
    stopper = asyncio.ensure_future(cancel.wait())
    try:
        while True:
            getter = asyncio.ensure_future(results.get())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper.done() and not getter.done():
                getter.cancel()
                return
            item = getter.result()
            if item is None:
                break
            yield item
        await producer  # surface errors from the sweep
        tracker.finished = True
        if on_progress:
            await _call(on_progress, tracker.snapshot())
    finally:
        stopper.cancel()
        producer.cancel()
        if reporter:
            reporter.cancel()
        await asyncio.gather(producer, return_exceptions=True)


async def _produce(
    hosts: list[str],
    ports: list[int],
    options: ScanOptions,
    cancel: asyncio.Event,
    tracker: _Tracker,
    out: asyncio.Queue[HostResult | None],
) -> None:
    tasks: set[asyncio.Task[None]] = set()  # per-host fingerprinting in progress
    try:
        alive = hosts
        if len(hosts) > 1:
            alive = await _discover(hosts, options, cancel)
            tracker.skipped = (len(hosts) - len(alive)) * len(ports)
            tracker.hosts_done += len(hosts) - len(alive)
        if cancel.is_set() or not alive:
            return

        def on_sweep(done: int) -> None:
            tracker.sweep_done = done

        job = SweepJob([(h, ports) for h in alive], options.connect_timeout, options.concurrency, retries=1)
        gate = asyncio.Semaphore(HOSTS_IN_DETECTION)
        port_gate = asyncio.Semaphore(PORTS_IN_DETECTION)

        async def detect(host: str, port: int) -> PortResult:
            from cybervault.scanner.detect import detect_port  # ssl and probes load only when used

            async with port_gate:
                return await detect_port(host, port, options)

        async def finish_host(host: str, open_ports: list[int]) -> None:
            async with gate:
                results = await asyncio.gather(*(detect(host, p) for p in open_ports))
            tracker.hosts_done += 1
            await out.put(HostResult(host=host, alive=True, ports=list(results)))

        async for hs in stream_sweep(job, cancel, on_sweep):
            if not hs.responded:
                tracker.hosts_done += 1  # silent on every port: not alive
                continue
            if options.detect_services:
                task = asyncio.ensure_future(finish_host(hs.host, hs.open_ports))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                tracker.hosts_done += 1
                await out.put(HostResult(hs.host, True, [PortResult(hs.host, p) for p in hs.open_ports]))
        if tasks:
            await asyncio.gather(*tasks)
    finally:
        for task in tasks:  # cancelled or failed scan: stop fingerprinting too
            task.cancel()
        await out.put(None)


async def _discover(hosts: list[str], options: ScanOptions, cancel: asyncio.Event) -> list[str]:
    """A host is up if any discovery port answers, open or refused (nmap's unprivileged ping)."""
    job = SweepJob([(h, list(DISCOVERY_PORTS)) for h in hosts], options.connect_timeout,
                   options.concurrency, retries=1)  # fmt: skip
    up: set[str] = set()
    async for hs in stream_sweep(job, cancel, lambda _done: None):
        if hs.responded:
            up.add(hs.host)
    return [h for h in hosts if h in up]


async def _report(tracker: _Tracker, cb: ProgressCallback, cancel: asyncio.Event) -> None:
    last = None
    while not cancel.is_set():
        snap = tracker.snapshot()
        if snap != last:
            await _call(cb, snap)
            last = snap
        await asyncio.sleep(0.25)


async def _call(cb: ProgressCallback, progress: Progress) -> None:
    res = cb(progress)
    if inspect.isawaitable(res):
        await res
