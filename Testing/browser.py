"""Render an HTML file in headless Chromium and report console errors (for the report tests).

How: Debian's ``/usr/bin/chromium`` is started headless with ``--remote-debugging-port=0`` and a
temporary profile; the DevTools port is read from ``<profile>/DevToolsActivePort``, a small
WebSocket client (tornado, already a dependency of dask.distributed) enables the ``Runtime``,
``Log`` and ``Page`` domains, navigates to the file and collects, until one second after the
``load`` event: ``console.error``/``console.warn`` calls, uncaught exceptions, and browser log
entries of level error or warning (failed resource loads, blocked network requests, ...). It
then evaluates how many ``<img>`` elements decoded to a non-empty picture.

Nothing is installed here: a missing browser fails with a message naming the apt command.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = ("headless Chromium is needed: install it with `apt-get install -y chromium` "
                "(`make browser` does this when run as root)")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0",
         "--remote-allow-origins=*")
IMAGES_JS = ("JSON.stringify({total: document.images.length, decoded: Array.from(document.images)"
             ".filter(i => i.complete && i.naturalWidth > 0).length, title: document.title, "
             "complete: document.readyState === 'complete'})")


@dataclass(frozen=True)
class Rendering:
    """What the browser saw."""

    loaded: bool
    problems: tuple[str, ...]
    """Console errors/warnings, exceptions and error/warning log entries, one line each."""
    images_total: int
    images_decoded: int
    title: str


def render(path: Path, settle_s: float = 1.0, timeout_s: float = 90.0) -> Rendering:
    """Open ``path`` in headless Chromium and collect its problems (see the module docstring)."""
    profile = Path(tempfile.mkdtemp(prefix="nacresistance-chromium-"))
    process = subprocess.Popen([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port = _devtools_port(profile, process, timeout_s)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            page = next(t for t in json.load(response) if t.get("type") == "page")
        return asyncio.run(_session(page["webSocketDebuggerUrl"], path.resolve().as_uri(), settle_s, timeout_s))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(profile: Path, process: subprocess.Popen, timeout_s: float) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        text = marker.read_text() if marker.exists() else ""
        if text.strip():
            return int(text.split()[0])
        time.sleep(0.05)
    raise RuntimeError(f"chromium did not open its DevTools port (exit code {process.poll()})")


async def _session(ws_url: str, url: str, settle_s: float, timeout_s: float) -> Rendering:
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(ws_url, max_message_size=1 << 28)
    counter = iter(range(1, 1 << 30))

    def send(method: str, **params) -> int:
        number = next(counter)
        connection.write_message(json.dumps({"id": number, "method": method, "params": params}))
        return number

    for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
        send(domain)
    send("Page.navigate", url=url)
    loaded, problems = await _events(connection, settle_s, timeout_s)
    images = json.loads(await _evaluate(connection, send("Runtime.evaluate", expression=IMAGES_JS, returnByValue=True)))
    connection.close()
    # The load event can be missed when the page finishes before Page.enable takes effect (seen once in a fresh
    # clone's run); the document's own readyState after the load says the same thing.
    return Rendering(loaded or images["complete"], tuple(problems), images["total"], images["decoded"], images["title"])


async def _events(connection, settle_s: float, timeout_s: float) -> tuple[bool, list[str]]:
    loaded, problems = False, []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            message = await asyncio.wait_for(connection.read_message(), settle_s if loaded else timeout_s)
        except asyncio.TimeoutError:
            break
        if message is None:
            break
        event = json.loads(message)
        problem = _problem(event.get("method", ""), event.get("params", {}))
        if problem:
            problems.append(problem)
        loaded = loaded or event.get("method") == "Page.loadEventFired"
    return loaded, problems


def _problem(method: str, params: dict) -> str:
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
        return f"console.{params['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
    if method == "Runtime.exceptionThrown":
        return "exception: " + str(params["exceptionDetails"].get("text"))
    if method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
        entry = params["entry"]
        return f"log.{entry['level']}: {entry.get('text')} {entry.get('url', '')}"
    return ""


async def _evaluate(connection, number: int) -> str:
    while True:
        message = await asyncio.wait_for(connection.read_message(), 30)
        reply = json.loads(message)
        if reply.get("id") == number:
            return reply["result"]["result"]["value"]
