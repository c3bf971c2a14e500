"""The browser tier's harness: Debian's Chromium under Playwright runs a page's script on loopback.

The Gradio apps' own browser tests land with the apps; this keeps the tier's plumbing proven.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

PAGE = b"""<!doctype html><html><body>
<button id="go" onclick="document.getElementById('out').textContent = 6 * 7">go</button>
<p id="out"></p></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_chromium_runs_page_scripts(browser: Browser, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.click("#go")
    assert page.text_content("#out") == "42"
    page.close()
