"""Fixtures of the playground's browser tests: the server (uvicorn in a thread, on a free port) and
headless Chromium driven by Playwright.

Debian's ``chromium`` at :data:`CHROMIUM` is launched with ``executable_path`` (Playwright's own
browser download cannot work offline); ``.ci/run`` installs it when it is missing. A browser test
that cannot run fails with the reason: it is never skipped.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
#: The size of the page in the tests (and of the README's screenshots).
VIEWPORT = {"width": 1200, "height": 750}


def start_server():
    """``(server, thread, url)``: :func:`monge.playground.create_app` served by uvicorn on 127.0.0.1, port 0."""
    try:
        import uvicorn
    except ImportError as error:
        pytest.fail(f"the playground's server needs uvicorn ({error}); install the package with its dependencies")
    from monge.playground import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="playground-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the playground's server did not start within 30 s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}/"


def stop_server(server, thread):
    server.should_exit = True
    thread.join(timeout=10)


def launch_chromium(playwright):
    """Headless Debian chromium, or a test failure naming what is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the playground's browser tests need Debian's chromium "
                    "(apt-get update && apt-get install -y --no-install-recommends chromium; .ci/run does this)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True)


def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError as error:
        pytest.fail(f"the playground's browser tests need Playwright's Python package ({error}): "
                    "pip install playwright (its browser download is not needed: Debian's chromium is used)")
    return start()


@pytest.fixture(scope="module")
def server_url():
    server, thread, url = start_server()
    yield url
    stop_server(server, thread)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield context
    context.close()


@pytest.fixture
def open_page(context, server_url):
    """``open_page(hash="")``: a new page of the playground at ``server_url#hash``, its console errors
    collected in ``page.console_errors``."""

    def open_(fragment: str = ""):
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
        page.console_errors = errors
        page.goto(server_url + (f"#{fragment}" if fragment else ""))
        return page

    return open_
