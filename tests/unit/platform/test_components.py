"""Every registered component's lazy parts resolve, and the standard skeleton is what it says."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from twincore.platform.components import (
    RESERVED_SERVICE_NAMES,
    ServiceComponent,
    load_components,
    migration_folders,
    resolve,
)


@pytest.mark.parametrize("component", load_components()[0], ids=lambda c: c.name)
def test_every_part_of_a_registered_service_resolves(component: ServiceComponent) -> None:
    for part in (component.factory, component.api, component.ui, component.cli):
        if isinstance(part, str):
            assert resolve(part) is not None
    for command in (component.evals, component.bench):
        if command is not None:
            assert callable(resolve(command)) and resolve(command).__doc__
    for module in component.tables:
        importlib.import_module(module)


def test_each_service_brings_its_own_migrations() -> None:
    folders = migration_folders()
    assert len(folders) == len(load_components()[0])
    for folder in folders:
        assert any(Path(folder).glob("0*.py")), folder


def test_the_standard_skeleton() -> None:
    component = ServiceComponent.standard("x.services.pets", "PetService", title="Pets", cli=True)
    assert component.name == "pets"
    assert component.factory == "x.services.pets.service:PetService"
    assert component.api == "x.services.pets.api:build_api"
    assert component.ui == "twincore.apps.pets:build"
    assert component.cli == "x.services.pets.cli:app"
    assert component.evals == "x.services.pets.cli:eval_command" and component.bench is None
    assert component.tables == ("x.services.pets.models",)
    assert component.migrations == "x.services.pets:migrations"


@pytest.mark.parametrize("name", [*sorted(RESERVED_SERVICE_NAMES), "not-an-identifier"])
def test_a_service_cannot_shadow_the_platform(name: str) -> None:
    with pytest.raises(ValueError, match="reserved or not an identifier"):
        ServiceComponent(name=name, factory="a:b", api="a:c")


def test_resolve_refuses_a_path_without_an_attribute() -> None:
    with pytest.raises(ValueError, match="module:attribute"):
        resolve("twincore.platform.components")
