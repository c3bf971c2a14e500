"""Browser tier: Debian's Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Each app's screen after its main job, kept for people to look at (CI keeps var/screenshots/).
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def shared_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of assembled weights and converted core caches for the whole session: each
    test building its cores in a fresh data dir would pay ~40 s of conversion again."""
    return tmp_path_factory.mktemp("weights")


@pytest.fixture
def data_dir(tmp_path: Path, shared_weights: Path) -> Path:
    """A fresh data dir per test whose `models/` and `cores/` are the session's shared ones
    (both written by atomic renames, so sharing them is safe)."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    for name in ("models", "cores"):
        (shared_weights / name).mkdir(exist_ok=True)
        (data_dir / name).symlink_to(shared_weights / name)
    return data_dir


# Per module, not per session: Playwright's sync API keeps an event loop registered while it
# runs, and an async test that a worker runs after a browser module must find none.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Screenshots:
    """Writes `var/screenshots/<name>.png`: the whole page as the user sees it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screenshot() -> Screenshots:
    return Screenshots(SCREENSHOTS)
