"""llama.cpp's batch-1 greedy decode rate on a GGUF, measured in a process of its own.

Run by `bench_peers.llamacpp_rates` with the Python of the peers venv (`make bench-peers`), never
imported by twincore: it needs only the standard library and `llama_cpp`, so llama.cpp's threads
and memory stay out of the benchmark process. Prints one JSON object on stdout.

Usage: python -I bench_llamacpp_worker.py GGUF --threads N --tokens N --repeats N --prompt 1,2,3

Each repeat clears llama.cpp's context, evaluates the prompt and decodes `tokens` tokens greedily
(end-of-generation tokens do not stop it, so every run decodes the same count). The decode rate
counts tokens after the first one over the time after the first one, the definition our engine's
figures use; the prompt and the first token are reported apart (`ttft_s`, `prefill_tokens_per_s`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def measure(
    gguf: str, *, prompt: list[int], threads: int, tokens: int, repeats: int
) -> dict[str, Any]:
    """Best decode rate and time to first token over `repeats` greedy runs."""
    import llama_cpp  # type: ignore[import-not-found]  # lives in the peers venv only

    started = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=gguf,
        n_ctx=len(prompt) + tokens + 16,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        verbose=False,
    )
    load_s = time.perf_counter() - started
    rates: list[float] = []
    ttfts: list[float] = []
    outputs: list[list[int]] = []
    for _ in range(repeats):
        llm.reset()  # n_past = 0: the next run evaluates the whole prompt again
        times: list[float] = []
        out: list[int] = []
        begun = time.perf_counter()
        for token in llm.generate(prompt, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
            times.append(time.perf_counter())
            out.append(int(token))
            if len(out) == tokens:
                break
        ttfts.append(times[0] - begun)
        if len(times) > 1:
            rates.append((len(times) - 1) / (times[-1] - times[0]))
        outputs.append(out)
    best_ttft = min(ttfts)
    return {
        "decode_tokens_per_s": max(rates) if rates else None,
        "ttft_s": best_ttft,
        "prefill_tokens_per_s": len(prompt) / best_ttft,
        "load_s": load_s,
        "prompt_tokens": len(prompt),
        "new_tokens": tokens,
        "threads": threads,
        "greedy_tokens": outputs[0],
        "version": str(getattr(llama_cpp, "__version__", "unknown")),
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--tokens", type=int, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prompt", required=True, help="comma-separated prompt token ids")
    args = parser.parse_args(argv)
    prompt = [int(t) for t in args.prompt.split(",") if t]
    result = measure(
        args.gguf, prompt=prompt, threads=args.threads, tokens=args.tokens, repeats=args.repeats
    )
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
