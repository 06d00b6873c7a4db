"""A headless Chromium, driven over the DevTools protocol through a pipe (stdlib only).

``--remote-debugging-pipe`` makes Chromium read protocol commands from fd 3 and write answers
and events to fd 4, NUL-separated JSON: no port, no websocket, no network. ``render`` opens a
page at a given window size and returns what a reader and a checker need: a screenshot, the
page's text, its layout widths and every console message, exception and failed load.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

#: Debian's package installs it here (apt-get install chromium).
CHROMIUM = "/usr/bin/chromium"

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--hide-scrollbars",
)


def chromium() -> str | None:
    """The browser to use: ``$VPCCNI_CHROMIUM``, else Debian's, else one on PATH."""
    for candidate in (os.environ.get("VPCCNI_CHROMIUM"), CHROMIUM):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


@attrs.frozen
class Rendered:
    """A page as the browser showed it."""

    screenshot: bytes  # PNG of the viewport
    full_page: bytes  # PNG of the whole page
    text: str  # document.body.innerText
    title: str
    scroll_width: int  # document.documentElement.scrollWidth: > width means sideways scroll
    width: int
    images: tuple[tuple[int, int], ...]  # natural size of each <img>; (0, 0) = not decoded
    problems: tuple[str, ...]  # console errors and warnings, exceptions, failed loads
    requests: tuple[str, ...]  # every URL the page asked for


class _Pipe:
    def __init__(self, binary: str, profile: Path, log: Path) -> None:
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def child() -> None:  # the protocol's fds are 3 (commands) and 4 (answers)
            a, b = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self._log = log.open("w")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe"],
            preexec_fn=child,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        number = self._id
        answer = self.wait(lambda m: m.get("id") == number)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def wait(self, wanted: Callable[[dict[str, Any]], bool], timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if wanted(event):
                self.events.remove(event)
                return event
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message
                self.events.append(message)
            ready, _, _ = select.select([self._read], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe (see its log)")
            self._buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, RuntimeError, TimeoutError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)
        self._log.close()


_PROBE = """JSON.stringify({
  text: document.body.innerText,
  title: document.title,
  scrollWidth: document.documentElement.scrollWidth,
  images: Array.from(document.images, i => [i.naturalWidth, i.naturalHeight]),
  requests: performance.getEntriesByType("resource").map(e => e.name),
})"""


def render(
    binary: str, page: Path, workdir: Path, width: int = 1366, height: int = 768
) -> Rendered:
    """Open ``page`` (a file) in a fresh profile under ``workdir`` at ``width`` x ``height``."""
    workdir.mkdir(parents=True, exist_ok=True)
    pipe = _Pipe(binary, workdir / "profile", workdir / "chromium.log")
    try:
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        pipe.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session)
        pipe.wait(lambda m: m.get("method") == "Page.loadEventFired")
        probe = pipe.send(
            "Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session
        )
        seen = json.loads(probe["result"]["value"])
        shot = pipe.send("Page.captureScreenshot", {"format": "png"}, session=session)
        full = pipe.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True},
            session=session,
        )
        problems, requests = [], []
        for event in pipe.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                problems.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                problems.append(f"exception: {params['exceptionDetails']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                problems.append(f"log: {params['entry']}")
            elif method == "Network.loadingFailed":
                problems.append(f"load failed: {params}")
            elif method == "Network.requestWillBeSent":
                requests.append(params["request"]["url"])
    finally:
        pipe.close()
    return Rendered(
        screenshot=base64.b64decode(shot["data"]),
        full_page=base64.b64decode(full["data"]),
        text=seen["text"],
        title=seen["title"],
        scroll_width=seen["scrollWidth"],
        width=width,
        images=tuple(tuple(size) for size in seen["images"]),
        problems=tuple(problems),
        requests=tuple([*requests, *seen["requests"]]),
    )
