"""A run's metrics on 127.0.0.1 while it lasts, and in a file at each sample."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import IO

from vpccni_model._errors import ConfigError
from vpccni_model.sim.engine import Simulation
from vpccni_model.sim.prometheus._counters import IpamdCounters
from vpccni_model.sim.prometheus._families import (
    Snapshot,
    helper_families,
    ipamd_families,
    take_snapshot,
)
from vpccni_model.sim.prometheus._render import render_openmetrics, render_text

#: Paths the HTTP server answers: ipamd's view of every node, and the metrics helper's view.
IPAMD_PATH = "/metrics"
HELPER_PATH = "/cni-metrics-helper/metrics"
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Handler(http.server.BaseHTTPRequestHandler):
    exporter: PrometheusExporter

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in (IPAMD_PATH, HELPER_PATH):
            self.send_error(404, f"not found: try {IPAMD_PATH} or {HELPER_PATH}")
            return
        body = self.exporter.latest if path == IPAMD_PATH else self.exporter.latest_helper
        self.send_response(200)
        self.send_header("Content-Type", TEXT_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a scrape every few seconds would flood stderr."""


class PrometheusExporter:
    """Expose a run's metrics: on ``http://127.0.0.1:port/metrics`` while it lasts (``port``
    0 picks a free port: see :attr:`port`) and/or appended to ``out`` at each sample.

    Attach before the run (``Simulation.observer`` is set here) and :meth:`close` after it
    (or use ``with``): that stops the server and ends the file with ``# EOF``. ``epoch`` is
    added to simulated seconds for the file's timestamps (0: the run starts at 1970-01-01).
    A sample costs a snapshot (states are immutable; counters are copied when they changed);
    the server renders a snapshot on its first scrape.
    """

    def __init__(
        self,
        sim: Simulation,
        *,
        port: int | None = None,
        out: str | Path | None = None,
        epoch: float = 0.0,
    ) -> None:
        if sim.observer is not None:
            raise ConfigError("observer", sim.observer, "the simulation already has an observer")
        self.sim = sim
        self.epoch = float(epoch)
        self.counters = IpamdCounters(sim, self.sampled)
        self.samples = 0
        self._lock = threading.Lock()
        self._snapshot = take_snapshot(sim, self.counters)
        self._pages: tuple[Snapshot, bytes, bytes] | None = None
        self._file: IO[bytes] | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if out is not None:
            try:
                self._file = Path(out).open("wb")  # noqa: SIM115 (closed by close())
            except OSError as exc:
                raise ConfigError("out", str(out), f"cannot write it ({exc.strerror})") from exc
        if port is not None:
            handler = type("Handler", (_Handler,), {"exporter": self})
            try:
                self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
            except OSError as exc:
                self._close_file()
                reason = f"cannot listen on 127.0.0.1:{port} ({exc.strerror})"
                raise ConfigError("port", port, reason) from exc
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="vpccni-metrics", daemon=True
            )
            self._thread.start()
        sim.observer = self.counters

    @property
    def port(self) -> int | None:
        """The port the server listens on (None without one)."""
        return None if self._server is None else int(self._server.server_address[1])

    @property
    def snapshot(self) -> Snapshot:
        """The fleet at the latest sample (before the first: at the start)."""
        return self._snapshot

    def sampled(self, time: float) -> None:
        """The engine took a metric sample at ``time``: snapshot, and append to the file."""
        if time == self._snapshot.time:
            return
        self.samples += 1
        snapshot = self._snapshot = take_snapshot(self.sim, self.counters, time)
        if self._file is not None:
            stamp = round(self.epoch + time, 3)
            self._file.write(render_openmetrics(ipamd_families(snapshot), stamp))
            self._file.flush()

    def _rendered(self) -> tuple[Snapshot, bytes, bytes]:
        with self._lock:
            snapshot = self._snapshot
            if self._pages is None or self._pages[0] is not snapshot:
                ipamd = render_text(ipamd_families(snapshot))
                helper = render_text(helper_families(snapshot))
                self._pages = (snapshot, ipamd, helper)
            return self._pages

    @property
    def latest(self) -> bytes:
        """ipamd's view of every node at the latest sample, in the text format."""
        return self._rendered()[1]

    @property
    def latest_helper(self) -> bytes:
        """The metrics helper's view at the latest sample, in the text format."""
        return self._rendered()[2]

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.write(b"# EOF\n")
            self._file.close()
            self._file = None

    def close(self) -> None:
        """Stop the server (its thread joined, the port freed) and finish the file."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_file()
        if self.sim.observer is self.counters:
            self.sim.observer = None

    def __enter__(self) -> PrometheusExporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
