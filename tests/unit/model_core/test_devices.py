"""Device plumbing: a core's `device` setting reaches the engine; unknown or absent devices fail
with a sentence that names them."""

from __future__ import annotations

import pytest
import torch

from twincore.model_core.backends.devices import DeviceUnavailableError, place, resolve_device
from twincore.model_core.config import load_preset
from twincore.model_core.engine.engine import Engine
from twincore.model_core.engine.sampling import SamplingParams
from twincore.model_core.engine.types import EngineConfig, GenerationRequest
from twincore.model_core.loader import init_random
from twincore.platform.cores import core_profile
from twincore.platform.settings import Settings


def test_cpu_resolves_and_keeps_the_model_as_it_is() -> None:
    model = init_random(load_preset("deep-tiny"), seed=0)
    assert resolve_device("cpu") == torch.device("cpu")
    assert place(model, torch.device("cpu")) is model


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a CUDA-less torch")
def test_cuda_without_a_cuda_device_is_refused_by_name() -> None:
    with pytest.raises(DeviceUnavailableError, match=r"'cuda:1'.*sees no CUDA device"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("name", ["tpu", "gpu0", "mps"])
def test_unknown_or_unsupported_devices_are_refused(name: str) -> None:
    with pytest.raises(DeviceUnavailableError, match=name):
        resolve_device(name)


def test_the_core_setting_reaches_the_engine_profile() -> None:
    settings = Settings(cores={"deep": {"device": "cuda:0"}, "swift": {"device": "cpu"}})
    assert core_profile("deep", settings.cores.deep).device == "cuda:0"
    assert core_profile("deep", settings.cores.deep).draft == "qwen2.5-coder-0.5b-instruct"
    assert core_profile("swift", settings.cores.swift).device == "cpu"


def test_the_engine_runs_where_the_model_lives() -> None:
    model = init_random(load_preset("swift-tiny"), seed=0)
    engine = Engine(model, None, EngineConfig(block_size=8, num_blocks=16))
    try:
        assert engine.device == torch.device("cpu")
        assert engine.pool.storage[0][0].device == engine.device
        out = engine.complete(GenerationRequest((5, 6, 7), SamplingParams(max_tokens=4)))
        assert len(out.token_ids[0]) == 4
    finally:
        engine.close()
