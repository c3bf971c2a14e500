"""The modules that own tables; importing them fills `Base.metadata` for Alembic and tests.

The platform's own tables and each registered service's (`ServiceComponent.tables`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from twincore.platform.components import table_modules


def load_table_modules(modules: Iterable[str] | None = None) -> tuple[str, ...]:
    """Import every table-owning module so all tables are registered on the one metadata;
    `modules` are component modules (default: the registered ones). Returns the names."""
    names = table_modules(modules)
    for name in names:
        importlib.import_module(name)
    return names
