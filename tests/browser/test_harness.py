"""The browser tier's harness: Debian's Chromium under Playwright runs a page's script on loopback.

The Gradio apps' own browser tests land with the apps; this keeps the tier's plumbing proven,
and how every screen shows a failure (apps/calls.py) and is mounted (apps/theme.py).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gradio as gr
import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from twincore.apps.calls import friendly
from twincore.apps.theme import mount_options
from twincore.platform.embedded import serve_in_background
from twincore.platform.errors import Invalid

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


def _screen_app() -> FastAPI:
    """One screen mounted the way the gateway mounts every app (apps/theme.mount_options)."""

    @friendly
    async def fails(text: str) -> str:
        raise Invalid(f"\x1b[31m{text}\x1b[0m is not a number")

    @friendly
    async def works(text: str) -> str:
        return text.upper()

    @friendly
    async def breaks_mid_stream(text: str) -> AsyncIterator[str]:
        yield "first part"
        raise Invalid("the stream broke")

    with gr.Blocks() as screen:
        given = gr.Textbox(label="Given")
        answer = gr.Textbox(label="Answer", elem_id="answer")
        other = gr.Textbox(label="Other", elem_id="other")
        gr.Button("Fail").click(fails, given, answer)
        gr.Button("Work").click(works, given, other)
        gr.Button("Stream").click(breaks_mid_stream, given, answer)
    app = FastAPI()
    gr.mount_gradio_app(app, screen, path="/ui/harness", **mount_options("harness"))
    return app


def test_a_failure_is_a_plain_toast_and_marks_no_component(browser: Browser) -> None:
    """A failed action shows one plain sentence (no ANSI code) and leaves no red "Error" badge
    on its outputs; screen readers hear "Done" after an action, not Gradio's missing key."""
    with serve_in_background(_screen_app()) as base:
        page = browser.new_page()
        page.goto(f"{base}/ui/harness/")
        page.evaluate(
            """() => { window.spoken = [];
            new MutationObserver(() => document.querySelectorAll('[aria-live]').forEach(
                e => e.textContent && window.spoken.push(e.textContent))).observe(
                document.body, {subtree: true, childList: true, characterData: true}); }"""
        )
        page.get_by_label("Given").fill("seven")
        page.get_by_role("button", name="Fail").click()
        toast = page.locator(".toast-body").first
        expect(toast).to_contain_text("even is not a number")  # user_message capitalises
        assert "\x1b" not in toast.inner_text() and "[31m" not in toast.inner_text()
        page.get_by_role("button", name="Work").click()
        expect(page.get_by_label("Other")).to_have_value("SEVEN")
        page.get_by_role("button", name="Stream").click()
        expect(page.get_by_text("the stream broke")).to_be_visible()
        expect(page.get_by_label("Answer")).to_have_value("first part")  # kept, not erased
        for output in ("#answer", "#other"):
            assert page.locator(f"{output} .error").count() == 0, output
        # Gradio throttles its announcements to one per 5 s.
        page.wait_for_function("() => window.spoken.includes('Done')", timeout=15_000)
        assert not any("common." in text for text in page.evaluate("() => window.spoken"))
        page.close()
