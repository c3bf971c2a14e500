"""One embedded FalkorDB with Northwind loaded, shared by the support integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from twincore.platform.graph.falkordb_store import FalkorDBStore
from twincore.services.support.knowledge.northwind import LoadReport, load_northwind


@pytest.fixture(scope="session")
def northwind(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FalkorDBStore, LoadReport]]:
    store = FalkorDBStore(tmp_path_factory.mktemp("northwind") / "nw.db")
    report = load_northwind(store)
    yield store, report
    store.close()
