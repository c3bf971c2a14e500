"""Where a core's engine runs: resolving the configured device and moving a model onto it.

The CPU keeps the model as loaded (int8/int4 kernels, bf16 activations). A CUDA device gets the
float model in bfloat16, the dtype its tensor cores and PyTorch's SDPA kernels are fast in.
"""

from __future__ import annotations

import torch

from twincore.model_core.model import Gate, Transformer


class DeviceUnavailableError(RuntimeError):
    """The configured device does not exist on this machine (or in this torch build)."""


def resolve_device(name: str) -> torch.device:
    """The torch device `name` ("cpu", "cuda", "cuda:1"), checked to exist here."""
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise DeviceUnavailableError(f"unknown device {name!r}: use cpu, cuda or cuda:N") from exc
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise DeviceUnavailableError(f"device {name!r} is not supported: use cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {name!r} asked for, but this torch ({torch.__version__}) sees no CUDA device"
        )
    index = device.index or 0
    if index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {name!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    return device


def place(model: Transformer, device: torch.device) -> Transformer:
    """`model` on `device`: unchanged on the CPU; bfloat16 elsewhere, the MoE routers in float32
    (their top-k turns on small score differences), as on the CPU."""
    if device.type == "cpu":
        return model
    model = model.to(device=device, dtype=torch.bfloat16)
    for module in model.modules():
        if isinstance(module, Gate):
            module.float()
    return model.eval()
