"""Weight-only quantization of a whole model in place, and quantized checkpoints on disk.

`quantize_model` swaps every projection for an `Int8Linear` or `Int4Linear` (see quant_linear)
except MLA's `kv_b_proj`, whose weight the absorbed attention path reads directly, and casts the
remaining float parameters (norms, embedding, kv_b_proj) to the activation dtype. The MoE router
stays float32: its top-k is decided by small score differences. A tied output head is quantized
as its own copy; the embedding stays a float lookup.

A quantized checkpoint is a folder with `model.safetensors` (int8/int4 codes, scales, the float
rest) and `quantization.json` (mode, group size, activation dtype, our ModelConfig), so an
engine starts from it without the float weights and without quantizing again.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from twincore.model_core.config import config_from_dict
from twincore.model_core.load_memory import trim_heap
from twincore.model_core.model import Gate, Transformer
from twincore.model_core.quant_linear import (
    Int4Linear,
    Int8Linear,
    int4_group_for,
    quantize_int4,
    unpack_nibbles,
)

logger = logging.getLogger(__name__)

QuantMode = Literal["none", "int8", "int4"]
KEEP_FLOAT = ("kv_b_proj",)
"""Linears left float: MLA's absorbed path reads kv_b_proj.weight as a matrix."""
WEIGHTS_FILE = "model.safetensors"
META_FILE = "quantization.json"
FORMAT_VERSION = 1
QUANTIZE_ELEMENTS = 1 << 22
"""Float weights quantized per block of rows by `StreamQuantizer` (16 MB of float32: the
quantizers hold a few temporaries of that size)."""
__all__ = [
    "Int4Linear",
    "Int8Linear",
    "QuantMode",
    "QuantReport",
    "StreamQuantizer",
    "load_quantized",
    "quantize_model",
    "save_quantized",
    "weight_bytes",
]


@dataclass(frozen=True)
class QuantReport:
    """What `quantize_model` did and what it saved."""

    mode: QuantMode
    group_size: int | None
    """int4 group size asked for; None for the other modes."""
    group_sizes: Mapping[int, int]
    """int4 layers per group size used (see `int4_group_for`)."""
    activation_dtype: str
    bytes_before: int
    """Weight bytes of the whole model before (see `weight_bytes`)."""
    bytes_after: int
    linear_bytes_before: int
    """Weight and bias bytes of the linears that were quantized (or cast, for "none")."""
    linear_bytes_after: int
    quantized_layers: int
    kept_float: tuple[str, ...]
    """Linears deliberately left float."""
    kernel_paths: Mapping[str, int]
    """Quantized layers per compute path (kernel name or "dequantize")."""

    @property
    def ratio(self) -> float:
        return self.bytes_after / max(self.bytes_before, 1)

    @property
    def linear_ratio(self) -> float:
        return self.linear_bytes_after / max(self.linear_bytes_before, 1)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(kept_float=list(self.kept_float), kernel_paths=dict(self.kernel_paths))
        data.update(group_sizes=dict(self.group_sizes))
        data.update(ratio=self.ratio, linear_ratio=self.linear_ratio)
        return data


def weight_bytes(module: nn.Module) -> int:
    """Bytes of parameters and persistent buffers, each tensor counted once when shared."""
    seen: set[int] = set()
    total = 0
    for tensor in module.state_dict(keep_vars=True).values():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()
    return total


@torch.no_grad()
def quantize_model(
    model: Transformer,
    mode: QuantMode,
    *,
    group_size: int = 32,  # finer groups keep re-quantized GGUF models (already 4-bit) close
    activation_dtype: torch.dtype = torch.bfloat16,
) -> QuantReport:
    """Quantize `model`'s projections in place (mode "none" only casts) and report the savings."""
    if mode not in get_args(QuantMode):
        raise ValueError(f"unknown quantization mode {mode!r}; use one of {get_args(QuantMode)}")
    bytes_before = weight_bytes(model)
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    kept = tuple(name for name, _ in linears if name.rsplit(".", 1)[-1] in KEEP_FLOAT)
    targets = [(name, linear) for name, linear in linears if name not in kept]
    linear_before = sum(weight_bytes(linear) for _, linear in targets)
    paths: Counter[str] = Counter()
    groups: Counter[int] = Counter()
    for name, linear in targets:
        replacement: Int8Linear | Int4Linear
        if mode == "int8":
            replacement = Int8Linear.from_linear(linear, compute_dtype=activation_dtype)
        elif mode == "int4":
            group = int4_group_for(linear.in_features, group_size)
            groups[group] += 1
            replacement = Int4Linear.from_linear(
                linear, group_size=group, compute_dtype=activation_dtype
            )
        else:
            continue
        paths[replacement.kernel] += 1
        model.set_submodule(name, replacement)
    _cast_floats(model, activation_dtype)
    report = QuantReport(
        mode=mode,
        group_size=group_size if mode == "int4" else None,
        group_sizes=dict(groups),
        activation_dtype=str(activation_dtype).removeprefix("torch."),
        bytes_before=bytes_before,
        bytes_after=weight_bytes(model),
        linear_bytes_before=linear_before,
        linear_bytes_after=sum(weight_bytes(model.get_submodule(name)) for name, _ in targets),
        quantized_layers=sum(paths.values()),
        kept_float=kept,
        kernel_paths=dict(paths),
    )
    logger.info(
        "quantized %s to %s: %d layers by path %s, groups %s, %d float (%s), %.1f -> %.1f MB",
        model.config.name, mode, report.quantized_layers, report.kernel_paths or "-",
        report.group_sizes or "-",
        len(kept), ", ".join(sorted({k.rsplit(".", 1)[-1] for k in kept})) or "-",
        bytes_before / 1e6, report.bytes_after / 1e6,
    )  # fmt: skip
    return report


class StreamQuantizer:
    """`quantize_model` done tensor by tensor while a model built on meta is loaded, so the whole
    float model never exists: each projection's float weight becomes its quantized layer as it
    arrives, a block of rows at a time, and every other tensor is cast to the dtype it keeps.

    The codes and scales equal `quantize_model`'s on the float model (both quantizers work row by
    row). A tied head is quantized from the embedding when that arrives. Peak transient beyond
    the caller's float tensor: its codes and one block's temporaries (int4 packing converts the
    codes to int32 once, 4 bytes per weight).
    """

    def __init__(
        self,
        model: Transformer,
        mode: QuantMode,
        *,
        group_size: int = 32,
        activation_dtype: torch.dtype = torch.bfloat16,
    ) -> None:
        if mode not in get_args(QuantMode):
            modes = get_args(QuantMode)
            raise ValueError(f"unknown quantization mode {mode!r}; use one of {modes}")
        self.model, self.mode, self.group_size = model, mode, group_size
        self.dtype = activation_dtype
        linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
        self._targets = {
            name: linear
            for name, linear in linears.items()
            if mode != "none" and name.rsplit(".", 1)[-1] not in KEEP_FLOAT
        }
        params = {name for name, _ in model.named_parameters()}
        gates = [name for name, module in model.named_modules() if isinstance(module, Gate)]
        # quantize_model keeps routers and every buffer (loaded float32) in float32.
        self._float32 = {n for n in model.state_dict() if n not in params}
        self._float32 |= {n for n in params if n.rpartition(".")[0] in gates}
        self._tied_head = model.config.tie_word_embeddings and "lm_head" in self._targets
        self._built: dict[str, Int8Linear | Int4Linear] = {}
        self._biases: dict[str, Tensor] = {}
        self.consumed: set[str] = set()
        """Checkpoint names that went into quantized layers (a tied head included)."""
        self.kernel_paths: Counter[str] = Counter()

    @torch.no_grad()
    def take(self, name: str, tensor: Tensor) -> Tensor | None:
        """The tensor to assign to `name`, cast to the dtype it keeps; None when it went into a
        quantized layer (set on the model already)."""
        module, _, leaf = name.rpartition(".")
        if module in self._targets and leaf in ("weight", "bias"):
            self.consumed.add(name)
            if leaf == "bias":
                self._take_bias(module, tensor)
            else:
                self._quantize(module, tensor)
            return None
        if self._tied_head and name == "model.embed_tokens.weight":
            self.consumed.add("lm_head.weight")
            self._quantize("lm_head", tensor)
        return tensor.to(torch.float32 if name in self._float32 else self.dtype)

    def _take_bias(self, module: str, bias: Tensor) -> None:
        layer = self._built.get(module)
        if layer is None:
            self._biases[module] = bias  # [N], small: held until its weight arrives
        else:  # what the constructor does with a bias
            layer.bias = nn.Parameter(bias.to(self.dtype), requires_grad=False)

    def _quantize(self, module: str, weight: Tensor) -> None:
        # weight: [N, K] float32
        bias = self._biases.pop(module, None)
        layer: Int8Linear | Int4Linear
        if self.mode == "int8":
            codes, scales = _int8_rows(weight, self.dtype)
            layer = Int8Linear(codes, scales, bias, compute_dtype=self.dtype)
        else:
            group = int4_group_for(weight.shape[1], self.group_size)
            codes4, scales_and_zeros = _int4_rows(weight, group, self.dtype)
            layer = Int4Linear(
                codes4,
                scales_and_zeros,
                bias,
                in_features=weight.shape[1],
                group_size=group,
                compute_dtype=self.dtype,
            )
        self.kernel_paths[layer.kernel] += 1
        self._built[module] = layer
        self.model.set_submodule(module, layer)


def _row_blocks(rows: int, cols: int) -> Iterator[slice]:
    step = max(1, QUANTIZE_ELEMENTS // max(cols, 1))
    for start in range(0, rows, step):
        yield slice(start, min(start + step, rows))


def _int8_rows(weight: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """`Int8Linear.from_linear`'s codes [N, K] int8 and scales [N] dtype, a block of rows at a
    time (it quantizes each row on its own, so the blocks give the same numbers)."""
    n, k = weight.shape
    codes, scales = torch.empty(n, k, dtype=torch.int8), torch.empty(n, dtype=dtype)
    for rows in _row_blocks(n, k):
        part = Int8Linear.from_linear(_linear_of(weight[rows]), compute_dtype=dtype)
        codes[rows], scales[rows] = part.weight_int8, part.scales
    return codes, scales


def _int4_rows(weight: Tensor, group: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """`quantize_int4`'s codes [N, Kp] (as uint8) and scales_and_zeros [Kp / group, N, 2], a
    block of rows at a time (its groups never cross rows)."""
    n, k = weight.shape
    padded = math.ceil(k / group) * group
    codes = torch.empty(n, padded, dtype=torch.uint8)
    scales_and_zeros = torch.empty(padded // group, n, 2, dtype=dtype)
    for rows in _row_blocks(n, k):
        codes[rows], scales_and_zeros[:, rows] = quantize_int4(weight[rows], group, dtype)
    return codes, scales_and_zeros


def _linear_of(weight: Tensor) -> nn.Linear:
    """A bias-free nn.Linear around `weight` [N, K] (a view), for `from_linear`."""
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False, device="meta")
    linear.weight = nn.Parameter(weight, requires_grad=False)
    return linear


def _cast_floats(model: nn.Module, dtype: torch.dtype) -> None:
    """Cast float parameters to dtype in place (ties survive), routers to float32; buffers
    (rotary tables, routing correction bias) stay as they are."""
    for module in model.modules():
        wanted = torch.float32 if isinstance(module, Gate) else dtype
        for param in module.parameters(recurse=False):
            if param.is_floating_point() and param.dtype != wanted:
                param.data = param.data.to(wanted)


def quantized_mode(model: nn.Module) -> QuantMode:
    """The mode a model was quantized with, read from its layers."""
    for module in model.modules():
        if isinstance(module, Int4Linear):
            return "int4"
        if isinstance(module, Int8Linear):
            return "int8"
    return "none"


def save_quantized(model: Transformer, directory: Path, *, source: str | None = None) -> Path:
    """Write `model` (after `quantize_model`) as a quantized checkpoint folder; returns it.

    int4 codes are stored in the portable nibble layout, not the CPU kernel's, so the folder
    loads on any machine. `source` (the original model) is recorded for finding its tokenizer.
    """
    directory.mkdir(parents=True, exist_ok=True)
    mode = quantized_mode(model)
    tensors: dict[str, Tensor] = {}
    seen: set[int] = set()
    int4 = {name: m for name, m in model.named_modules() if isinstance(m, Int4Linear)}
    int4_prefixes = tuple(f"{name}." for name in int4)
    for name, tensor in model.state_dict(keep_vars=True).items():
        # A tied head that stayed float shares the embedding: store it once, re-tie on load.
        if not name.startswith(int4_prefixes) and id(tensor) not in seen:
            seen.add(id(tensor))
            tensors[name] = tensor.detach().contiguous()
    for name, module in int4.items():
        tensors[f"{name}.qweight"] = module.portable()
        tensors[f"{name}.scales_and_zeros"] = module.scales_and_zeros
        if module.bias is not None:
            tensors[f"{name}.bias"] = module.bias.detach()
    save_file(tensors, directory / WEIGHTS_FILE)
    meta = {
        "format_version": FORMAT_VERSION,
        "mode": mode,
        "group_sizes": sorted({m.group_size for m in int4.values()}),
        "activation_dtype": str(model.model.embed_tokens.weight.dtype).removeprefix("torch."),
        "int4_layout": "uint8 [N, K/2], even columns in the low nibble",
        "source": source,
        "config": model.config.to_dict(),
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    logger.info("saved %s checkpoint of %s to %s", mode, model.config.name, directory)
    return directory


def load_quantized(directory: Path) -> Transformer:
    """Rebuild a model written by `save_quantized`: built on meta, quantized layers rebuilt
    from their codes, everything else assigned from the file.

    Tensors are read one at a time with pread (a memory map's touched pages would count in RSS
    beside the copies) and copied to 64-byte aligned memory where they are not: the int8 and
    int4 CPU kernels read with aligned vector loads and crash otherwise. Largest transient first
    (an int4 layer's codes unpacked to int32 for packing, else the tensor or its alignment
    copy), so it comes while the model is still small.
    """
    meta = json.loads((directory / META_FILE).read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}: unsupported quantized format {meta.get('format_version')}")
    config = config_from_dict(meta["config"])
    dtype = getattr(torch, meta["activation_dtype"])
    with torch.device("meta"):
        model = Transformer(config)
    tensors: dict[str, Tensor] = {}
    with _open_weights(directory / WEIGHTS_FILE) as weights:
        names = set(weights.keys())
        quantized = {n.rpartition(".")[0] for n in names if n.endswith(_CODES)}

        def read(name: str) -> Tensor:
            return _aligned(weights.get_tensor(name))

        def read_bias(layer: str) -> Tensor | None:
            return read(f"{layer}.bias") if f"{layer}.bias" in names else None

        def transient(name: str) -> int:  # elements; int4 codes unpack to 2 int32 per byte
            elements = math.prod(weights.get_slice(name).get_shape())
            return int(elements) * (8 if name.endswith(".qweight") else 1)

        for name in sorted(names, key=transient, reverse=True):
            layer, _, leaf = name.rpartition(".")
            if leaf == "weight_int8":
                int8 = Int8Linear(
                    read(name), read(f"{layer}.scales"), read_bias(layer), compute_dtype=dtype
                )
                model.set_submodule(layer, int8)
            elif leaf == "qweight":
                old = model.get_submodule(layer)
                assert isinstance(old, nn.Linear), f"{layer} is not a linear layer"
                codes = unpack_nibbles(read(name))  # [N, Kp]
                scales_and_zeros = read(f"{layer}.scales_and_zeros")  # [Kp / group, N, 2]
                int4 = Int4Linear(
                    codes,
                    scales_and_zeros,
                    read_bias(layer),
                    in_features=old.in_features,
                    group_size=codes.shape[1] // scales_and_zeros.shape[0],
                    compute_dtype=dtype,
                )
                del codes
                model.set_submodule(layer, int4)
            elif layer not in quantized:  # a quantized layer's parts come with its codes
                tensors[name] = read(name)
            trim_heap()  # see trim_heap: transients freed in glibc's heap stay resident
    result = model.load_state_dict(tensors, strict=False, assign=True)
    if isinstance(model.lm_head, nn.Linear) and config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    unloaded = [n for n, t in model.state_dict(keep_vars=True).items() if t.is_meta]
    if unloaded or result.unexpected_keys:
        raise ValueError(
            f"{directory} does not match its config: missing {unloaded[:10]}, "
            f"unexpected {result.unexpected_keys[:10]}"
        )
    logger.info("loaded %s checkpoint of %s from %s", meta["mode"], config.name, directory)
    return model.eval()


_CODES = (".weight_int8", ".qweight")
"""Tensor names that carry a quantized layer's codes."""


def _open_weights(path: Path) -> Any:
    """safe_open reading with pread (safetensors >= 0.8); older versions fall back to mmap."""
    try:
        return safe_open(path, framework="pt", backend="pread")
    except TypeError:
        return safe_open(path, framework="pt")


def _aligned(tensor: Tensor) -> Tensor:
    """`tensor`, or a copy in torch's own (64-byte aligned) memory when its data is not."""
    return tensor if tensor.data_ptr() % 64 == 0 else tensor.clone()
