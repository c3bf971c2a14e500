"""The modules that own tables; importing them fills `Base.metadata` for Alembic and tests.

A module that declares tables adds itself here and ships a migration for them.
"""

from __future__ import annotations

import importlib

TABLE_MODULES: tuple[str, ...] = (
    "twincore.platform.auth",
    "twincore.platform.requestlog",
    "twincore.services.aml.models",
    "twincore.services.aml.workflow",
    "twincore.services.codegen.models",
    "twincore.services.support.models",
    "twincore.services.writing.models",
    "twincore.services.tutor.models",
)


def load_table_modules() -> None:
    """Import every table-owning module so all tables are registered on the one metadata."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
