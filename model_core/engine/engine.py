"""The engine: continuous batching over a paged KV pool, with a prefix cache and streamed output.

One worker thread owns the model and the pool. Each step it admits waiting sequences, runs one
batched decode pass for every sequence with one token to feed, then one chunk of one prefill,
so a long prompt never stalls running streams for more than a chunk. Callers talk to it through
`generate` (async iterator of chunks), `stream` / `complete` (synchronous) and `cancel`.

With a drafter (engine/speculative.py) a sequence that decodes alone (nothing else running or
waiting, its request not opted out with `SamplingParams.speculative=False`, n = 1) takes
speculative steps: the drafter proposes k tokens and one target pass over k+1 rows keeps the
agreeing ones. As soon as a second sequence runs, every row goes back to batched decoding, where
one pass already serves many streams.

A request with a `SamplingParams.constraint` is compiled in `submit` (engine/grammar.py: cached,
a bad grammar is a ValueError there) and every candidate walks its own matcher: each sampled or
verified position gets the grammar's mask, a stop id only where the grammar accepts, and the
candidate ends with "stop" as soon as the grammar can take no more tokens.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import torch

from twincore.model_core.engine.blocks import BlockPool, CacheLayout, OutOfBlocksError, block_hash
from twincore.model_core.engine.grammar import (
    Grammar,
    GrammarCompiler,
    GrammarMatcher,
    allowed_mask,
    draft_masks,
)
from twincore.model_core.engine.paged import PagedView
from twincore.model_core.engine.repetition import LineReader, RepetitionState
from twincore.model_core.engine.sampling import make_generator, sample
from twincore.model_core.engine.sequence import RequestState, Sequence
from twincore.model_core.engine.speculative import Drafter, adapt_k, verify
from twincore.model_core.engine.text import TextStream
from twincore.model_core.engine.types import (
    Chunk,
    Completion,
    EngineConfig,
    FinishReason,
    GenerationRequest,
    QueueFullError,
    RequestTooLargeError,
    Usage,
)
from twincore.model_core.fuse import fuse_projections
from twincore.model_core.model import MLA, Transformer
from twincore.model_core.tokenizer import Tokenizer

logger = logging.getLogger(__name__)


class Engine:
    """Serves many concurrent generations from one model."""

    def __init__(
        self,
        model: Transformer,
        tokenizer: Tokenizer | None = None,
        config: EngineConfig | None = None,
        *,
        draft: Drafter | None = None,
    ) -> None:
        self.model, self.tokenizer = model.eval(), tokenizer
        self.config = config or EngineConfig()
        self.drafter = draft
        self.device = model.model.embed_tokens.weight.device
        # One matmul for q/k/v and one for gate/up (in place; names stop matching HF's, so a
        # model is saved before an engine takes it).
        fuse_projections(model)
        absorbed = all(m.absorb for m in model.modules() if isinstance(m, MLA))
        layout = CacheLayout.for_model(model.config, absorbed_mla=absorbed)
        dtype = model.model.embed_tokens.weight.dtype
        per_block = layout.elements_per_token() * self.config.block_size * dtype.itemsize
        blocks = self.config.num_blocks or max(1, self.config.kv_memory_bytes // per_block)
        self.pool = BlockPool(
            layout,
            num_blocks=blocks,
            block_size=self.config.block_size,
            dtype=dtype,
            device=self.device,
        )
        self.stop_ids = frozenset(tokenizer.stop_ids if tokenizer else ())
        self._lines: LineReader | None = None  # built for the first request with a guard
        self._guards: dict[Sequence, RepetitionState] = {}
        vocab = model.config.vocab_size
        self.grammars = GrammarCompiler(tokenizer, vocab) if tokenizer is not None else None
        self._grammars: dict[Sequence, GrammarMatcher] = {}
        self._submitted_grammars: dict[RequestState, Grammar] = {}  # until the worker takes them
        self._mask_seconds = 0.0
        self._waiting: deque[Sequence] = deque()
        self._running: list[Sequence] = []
        self._inbox: deque[RequestState] = deque()
        self._cancelled: set[str] = set()
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._closing = False
        self.counters = dict.fromkeys(
            ("steps", "prompt_tokens", "prefilled_tokens", "cached_prompt_tokens",
             "generated_tokens", "preemptions", "requests", "rejected",
             "spec_steps", "spec_drafted", "spec_accepted", "spec_emitted",
             "grammar_tokens"), 0,
        )  # fmt: skip
        logger.info(
            "engine ready: %s cache, %d blocks x %d tokens (%.1f MiB)",
            layout.kind, blocks, self.config.block_size, self.pool.total_bytes / 2**20,
        )  # fmt: skip

    # ----- public API -------------------------------------------------------------------------

    def submit(self, request: GenerationRequest, sink: Callable[[Chunk], None]) -> str:
        """Queue a request; its chunks go to `sink` from the worker thread. Returns its id."""
        request.params.validate()
        self._check_fits(request)
        grammar = self._compile(request)
        request_id = request.request_id or f"req-{next(self._ids)}"
        state = RequestState(request, request_id, sink)
        deadline = request.deadline_s or self.config.default_deadline_s
        state.deadline_at = None if deadline is None else state.submitted_at + deadline
        with self._lock:
            if len(self._waiting) + len(self._inbox) >= self.config.max_waiting:
                self.counters["rejected"] += 1
                raise QueueFullError(
                    f"the engine's waiting queue is full ({self.config.max_waiting} requests);"
                    " retry later"
                )
            self._inbox.append(state)
            if grammar is not None:
                self._submitted_grammars[state] = grammar
            self._ensure_worker()
            self._lock.notify()
        return request_id

    def cancel(self, request_id: str) -> None:
        """End a request now; its blocks return to the pool before the next step."""
        with self._lock:
            self._cancelled.add(request_id)
            self._lock.notify()

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        """Chunks of every candidate as they are produced; closing the iterator cancels."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[Chunk] = asyncio.Queue()

        def deliver(chunk: Chunk) -> None:  # runs on the worker thread
            loop.call_soon_threadsafe(chunks.put_nowait, chunk)

        request_id = self.submit(request, deliver)
        remaining = request.params.n
        try:
            while remaining:
                chunk = await chunks.get()
                remaining -= chunk.finish_reason is not None
                yield chunk
        finally:
            if remaining:
                self.cancel(request_id)

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """The synchronous twin of `generate`."""
        chunks: queue.Queue[Chunk] = queue.Queue()
        request_id = self.submit(request, chunks.put)
        remaining = request.params.n
        try:
            while remaining:
                chunk = chunks.get()
                remaining -= chunk.finish_reason is not None
                yield chunk
        finally:
            if remaining:
                self.cancel(request_id)

    def complete(self, request: GenerationRequest) -> Completion:
        """Run a request to the end and collect every candidate."""
        n = request.params.n
        texts: list[str] = [""] * n
        ids: list[list[int]] = [[] for _ in range(n)]
        reasons: list[FinishReason] = ["error"] * n
        logprobs: list[list[float]] = [[] for _ in range(n)]
        usage, request_id = Usage(0, 0, 0), request.request_id
        for chunk in self.stream(request):
            request_id = chunk.request_id
            texts[chunk.index] += chunk.text
            ids[chunk.index].extend(chunk.token_ids)
            logprobs[chunk.index].extend(chunk.logprobs or ())
            if chunk.finish_reason is not None:
                reasons[chunk.index] = chunk.finish_reason
            usage = chunk.usage or usage
        return Completion(
            request_id, texts, ids, reasons, logprobs if request.params.logprobs else None, usage
        )

    def stats(self) -> dict[str, Any]:
        """Queue lengths, pool occupancy with exact bytes, prefix-cache hit rate, token counters."""
        pool = self.pool
        with self._lock:
            running, waiting = len(self._running), len(self._waiting) + len(self._inbox)
        used = pool.num_blocks - pool.available
        prompt = self.counters["prompt_tokens"]
        drafted, steps = self.counters["spec_drafted"], self.counters["spec_steps"]
        grammar_tokens, grammars = self.counters["grammar_tokens"], self.grammars
        return {
            "running": running,
            "waiting": waiting,
            "cache_layout": pool.layout.kind,
            "block_size": pool.block_size,
            "blocks_total": pool.num_blocks,
            "blocks_free": len(pool.free),
            "blocks_cached": len(pool.evictable),
            "blocks_used": used,
            "kv_bytes_total": pool.total_bytes,
            "kv_bytes_used": used * pool.bytes_per_block,
            "kv_bytes_per_token": pool.bytes_per_block // pool.block_size,
            "kv_row_cache_bytes": pool.row_cache_bytes,
            "prefix_lookups": pool.lookups,
            "prefix_hits": pool.hits,
            "prefix_hit_rate": pool.hits / pool.lookups if pool.lookups else 0.0,
            "prompt_cache_hit_rate": self.counters["cached_prompt_tokens"] / prompt
            if prompt
            else 0.0,
            "speculative": self.drafter is not None and self.config.speculative,
            "spec_acceptance": self.counters["spec_accepted"] / drafted if drafted else 0.0,
            "spec_tokens_per_verify": self.counters["spec_emitted"] / steps if steps else 0.0,
            "grammar_compiled": grammars.compiled if grammars else 0,
            "grammar_cache_hits": grammars.cache_hits if grammars else 0,
            "grammar_mask_ms_per_token": 1000 * self._mask_seconds / grammar_tokens
            if grammar_tokens
            else 0.0,
            **self.counters,
        }

    def close(self) -> None:
        """Stop the worker thread (running requests end with finish_reason 'cancelled')."""
        with self._lock:
            self._closing = True
            self._lock.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)

    # ----- worker ---------------------------------------------------------------------------

    def _check_fits(self, request: GenerationRequest) -> None:
        if not request.prompt_ids:
            raise RequestTooLargeError("the prompt is empty: at least one token is needed")
        total = len(request.prompt_ids) + request.params.max_tokens
        context = self.model.config.max_position_embeddings
        if total > context:
            raise RequestTooLargeError(
                f"prompt ({len(request.prompt_ids)} tokens) plus max_tokens "
                f"({request.params.max_tokens}) exceeds the model's context of {context} tokens"
            )
        blocks = -(-total // self.pool.block_size)
        if blocks > self.pool.num_blocks:
            raise RequestTooLargeError(
                f"the request needs {blocks} KV blocks but the pool holds {self.pool.num_blocks}"
            )

    def _compile(self, request: GenerationRequest) -> Grammar | None:
        """The request's compiled constraint (None without one); a constraint that does not
        compile raises ValueError here, as a bad parameter does, so the caller gets a 4xx."""
        constraint = request.params.constraint
        if constraint is None:
            return None
        if self.grammars is None:
            raise ValueError("a constrained request needs an engine with a tokenizer")
        return self.grammars.compile(constraint)

    def _ensure_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._closing = False
            self._thread = threading.Thread(target=self._work, name="twincore-engine", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while not (self._inbox or self._waiting or self._running or self._closing):
                    self._lock.wait()
                if self._closing:
                    break
                self._take_inbox()
                cancelled, self._cancelled = self._cancelled, set()
            self._end_cancelled_and_late(cancelled)
            try:
                with torch.inference_mode():
                    self._step()
            except Exception as exc:  # a bad step must not kill the engine for everyone
                logger.exception("engine step failed")
                for seq in list(self._running):
                    self._finish(seq, "error", error=f"{type(exc).__name__}: {exc}")
        for seq in list(self._running) + list(self._waiting):
            self._finish(seq, "cancelled")

    def _take_inbox(self) -> None:
        while self._inbox:
            state = self._inbox.popleft()
            params = state.request.params
            first = Sequence(
                state, 0, list(state.request.prompt_ids), len(state.request.prompt_ids),
                make_generator(params, 0), self._text_stream(params.stop),
            )  # fmt: skip
            self._add_guard(first)
            grammar = self._submitted_grammars.pop(state, None)
            if grammar is not None:
                self._grammars[first] = grammar.matcher()
            state.sequences.append(first)
            self._waiting.append(first)
            self.counters["requests"] += 1
            self.counters["prompt_tokens"] += len(first.tokens)

    def _text_stream(self, stop: tuple[str, ...]) -> TextStream | None:
        return TextStream(self.tokenizer, stop) if self.tokenizer is not None else None

    def _add_guard(self, seq: Sequence) -> None:
        """Track the sequence's loops when its request asks for the repetition guard."""
        params = seq.state.request.params
        if params.repetition_guard is None:
            return
        if self._lines is None and self.tokenizer is not None:
            self._lines = LineReader.for_tokenizer(self.tokenizer)
        stops = self.stop_ids | set(params.stop_token_ids)
        self._guards[seq] = RepetitionState(params.repetition_guard, self._lines, stops)

    def _guard_bans(self, seq: Sequence, drafted: list[int]) -> list[frozenset[int]] | None:
        """The guard's bans after each history a verify step checks: the sequence, then it
        followed by 1..k drafted tokens (probed on a copy); None when unguarded."""
        guard = self._guards.get(seq)
        if guard is None:
            return None
        probe = guard.copy()
        bans = [probe.bans]
        for token in drafted:
            probe.push(token)
            bans.append(probe.bans)
        return bans

    def _stops(self, seq: Sequence) -> frozenset[int]:
        """The ids that end the sequence: the tokenizer's stop ids and its request's."""
        return self.stop_ids | frozenset(seq.state.request.params.stop_token_ids)

    def _end_cancelled_and_late(self, cancelled: set[str]) -> None:
        now = time.monotonic()
        for seq in list(self._running) + list(self._waiting):
            state = seq.state
            if state.request_id in cancelled:
                self._finish(seq, "cancelled")
            elif state.deadline_at is not None and now > state.deadline_at:
                self._finish(seq, "deadline")

    def _step(self) -> None:
        self._admit()
        decode = [s for s in self._running if s.pending == 1]
        alone = self._speculation_candidate(decode)
        if alone is not None and self._speculate(alone):
            self.counters["steps"] += 1
            return
        decode = [s for s in decode if self._ensure_block(s)]
        if decode:
            self._forward(decode, [1] * len(decode))
        budget = max(self.config.max_batch_tokens - len(decode), 1)
        prefill = next((s for s in self._running if s.pending > 1), None)
        if prefill is not None:
            self._forward([prefill], [min(prefill.pending, budget)])
        self.counters["steps"] += 1

    def _speculation_candidate(self, decode: list[Sequence]) -> Sequence | None:
        """The one sequence that may take a speculative step now, if any (see the docstring)."""
        if self.drafter is None or not self.config.speculative or self._waiting:
            return None
        if len(decode) != 1 or len(self._running) != 1:
            return None
        params = decode[0].state.request.params
        return decode[0] if params.speculative and params.n == 1 else None

    def _speculate(self, seq: Sequence) -> bool:
        """Draft, verify in one pass, emit the kept tokens; False when no step was possible."""
        assert self.drafter is not None
        params = seq.state.request.params
        k = seq.draft_k or self.config.draft_tokens
        k = min(k, params.max_tokens - len(seq.output) - 1)  # the verify step emits up to k+1
        if k < 1 or not self._reserve(seq, seq.computed + k):
            return False
        draft = self.drafter.propose(seq, k)
        k = len(draft.tokens)
        if k == 0:
            return False
        start = seq.computed
        fed = [seq.tokens[-1], *draft.tokens]
        hidden = self._hidden([seq], [fed])  # [1, k+1, hidden]
        logits = self._head(hidden)[0]  # [k+1, V]
        bans = self._guard_bans(seq, draft.tokens)
        allowed = None
        if (matcher := self._grammars.get(seq)) is not None:
            began = time.perf_counter()
            allowed = draft_masks(
                matcher, draft.tokens, self._stops(seq), logits.shape[-1], self.device
            )
            self._mask_seconds += time.perf_counter() - began
        emitted, logprobs = verify(logits, draft, params, seq.generator, seq.tokens, bans, allowed)
        accepted = len(emitted) - 1
        self.counters["spec_steps"] += 1
        self.counters["spec_drafted"] += k
        self.counters["spec_accepted"] += accepted
        self.counters["spec_emitted"] += len(emitted)
        seq.draft_k = adapt_k(k, accepted, self.config.max_draft_tokens)
        for token, logprob in zip(emitted, logprobs, strict=True):
            self._append(seq, token, logprob)
            if seq.finish_reason is not None:
                return True
        # The last token fed and the kept drafts now have valid entries; the rest is overwritten.
        seq.computed = start + 1 + accepted
        self._publish_full_blocks(seq)
        if self.drafter.needs_hidden:
            self.drafter.observe(seq, start, hidden[0, : accepted + 1])
        return True

    def _reserve(self, seq: Sequence, last_position: int) -> bool:
        """Blocks for positions up to `last_position`, without preempting anyone."""
        try:
            while len(seq.blocks) * self.pool.block_size <= last_position:
                seq.blocks.append(self.pool.allocate())
        except OutOfBlocksError:
            return False
        return True

    def _admit(self) -> None:
        while self._waiting and len(self._running) < self.config.max_running:
            seq = self._waiting[0]
            needed = -(-len(seq.tokens) // self.pool.block_size) + 1  # +1: room to grow
            if self.pool.available < needed and self._running:
                return  # wait for running sequences to free blocks
            self._waiting.popleft()
            self._attach_prefix(seq)
            try:
                while len(seq.blocks) * self.pool.block_size < len(seq.tokens):
                    seq.blocks.append(self.pool.allocate())
            except OutOfBlocksError:
                self._release(seq)
                self._waiting.appendleft(seq)
                return
            seq.admitted_at = time.monotonic()
            self._running.append(seq)

    def _attach_prefix(self, seq: Sequence) -> None:
        """Reuse cached full blocks of the prompt; the last token is always computed afresh."""
        if not self.config.prefix_cache:
            return
        size = self.pool.block_size
        for start in range(0, len(seq.tokens) - 1 - size + 1, size):
            digest = block_hash(seq.chain, seq.tokens[start : start + size])
            block = self.pool.lookup(digest)
            if block is None:
                break
            seq.blocks.append(block)
            seq.chain, seq.hashed_blocks, seq.computed = digest, seq.hashed_blocks + 1, start + size
        if seq.index == 0 and seq.prompt_len == len(seq.tokens):
            seq.state.cached_prompt_tokens = seq.computed
            self.counters["cached_prompt_tokens"] += seq.computed

    def _ensure_block(self, seq: Sequence) -> bool:
        """Make room for the token at position `computed`; preempt the newest sequence if full."""
        while len(seq.blocks) * self.pool.block_size <= seq.computed:
            try:
                seq.blocks.append(self.pool.allocate())
            except OutOfBlocksError:
                victim = max(self._running, key=lambda s: s.admitted_at)
                self._preempt(victim)
                if victim is seq:
                    return False
        return True

    def _preempt(self, seq: Sequence) -> None:
        # Recompute later: drop its blocks now, keep its tokens (the prefix cache may save work).
        self._running.remove(seq)
        self._release(seq)
        self._waiting.appendleft(seq)
        self.counters["preemptions"] += 1

    def _release(self, seq: Sequence) -> None:
        if self.drafter is not None:
            self.drafter.release(seq)
        for block in seq.blocks:
            self.pool.release(block)
        seq.blocks, seq.computed, seq.hashed_blocks, seq.chain = [], 0, 0, b""

    def _forward(self, seqs: list[Sequence], counts: list[int]) -> None:
        """Feed `counts[i]` pending tokens of each sequence; sample those now caught up."""
        rows = [s.tokens[s.computed : s.computed + c] for s, c in zip(seqs, counts, strict=True)]
        if max(counts) > 1 and len(seqs) > 1:
            raise ValueError("only decode rows (one token each) are batched together")
        starts = [s.computed for s in seqs]
        hidden = self._hidden(seqs, rows)
        logits = self._head(hidden[:, -1:])[:, -1]  # [B, V]
        for seq, count in zip(seqs, counts, strict=True):
            prompt_part = max(0, min(seq.computed + count, seq.prompt_len) - seq.computed)
            self.counters["prefilled_tokens"] += prompt_part
            seq.computed += count
            self._publish_full_blocks(seq)
        ready = [(i, s) for i, s in enumerate(seqs) if s.pending == 0]
        if ready:
            picked = torch.tensor([i for i, _ in ready], device=self.device)
            self._sample([s for _, s in ready], logits[picked])
        if self.drafter is not None and self.drafter.needs_hidden:
            for row, (seq, start) in enumerate(zip(seqs, starts, strict=True)):
                if seq.finish_reason is None:
                    self.drafter.observe(seq, start, hidden[row])

    def _hidden(self, seqs: list[Sequence], rows: list[list[int]]) -> torch.Tensor:
        """Feed rows[i] (all of one width S) to sequence i at its next positions; returns the
        last layer's hidden states [B, S, hidden]."""
        width = len(rows[0])
        tokens = torch.tensor(rows, device=self.device)  # [B, S]
        positions = torch.tensor(
            [[s.computed + i for i in range(width)] for s in seqs], device=self.device
        )  # [B, S]
        lengths = [s.computed + width for s in seqs]
        view = PagedView(self.pool, [s.blocks for s in seqs], lengths)
        hidden: torch.Tensor = self.model.hidden_states(tokens, positions, view)
        return hidden

    def _head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Next-token logits [B, S, V] of hidden states [B, S, hidden]."""
        logits: torch.Tensor = self.model.lm_head(self.model.model.norm(hidden))
        return logits

    def _publish_full_blocks(self, seq: Sequence) -> None:
        if not self.config.prefix_cache:
            return
        size = self.pool.block_size
        while (seq.hashed_blocks + 1) * size <= seq.computed:
            start = seq.hashed_blocks * size
            seq.chain = block_hash(seq.chain, seq.tokens[start : start + size])
            self.pool.register(seq.blocks[seq.hashed_blocks], seq.chain)
            seq.hashed_blocks += 1

    def _sample(self, seqs: list[Sequence], logits: torch.Tensor) -> None:
        # logits: [B, V] for sequences whose every token is computed
        fork = [s for s in seqs if s.state.request.params.n > 1 and not s.state.forked]
        for parent in fork:
            self._fork(parent)
        if fork:  # candidates share the parent's last logits for their first token
            extra = [c for p in fork for c in p.state.sequences[1:]]
            rows = [seqs.index(c.state.sequences[0]) for c in extra]
            seqs = seqs + extra
            logits = torch.cat((logits, logits[rows]))
        params = [s.state.request.params for s in seqs]
        guards = [self._guards.get(s) for s in seqs]
        bans = None
        if any(guard is not None for guard in guards):
            bans = [frozenset() if guard is None else guard.bans for guard in guards]
        allowed = self._grammar_mask(seqs, logits.shape[-1])
        tokens, logprobs = sample(
            logits, params, [s.generator for s in seqs], [s.tokens for s in seqs], bans, allowed
        )
        for seq, token, logprob in zip(seqs, tokens, logprobs, strict=True):
            self._append(seq, token, logprob)

    def _grammar_mask(self, seqs: list[Sequence], width: int) -> torch.Tensor | None:
        """[B, V] bool: the tokens each row's grammar allows next; None when no row has one."""
        matchers = [self._grammars.get(s) for s in seqs]
        if all(matcher is None for matcher in matchers):
            return None
        began = time.perf_counter()
        allowed = allowed_mask(matchers, [self._stops(s) for s in seqs], width, self.device)
        self._mask_seconds += time.perf_counter() - began
        return allowed

    def _fork(self, parent: Sequence) -> None:
        """Candidates 1..n-1 share the prompt's full blocks and copy its partial last block."""
        state, size = parent.state, self.pool.block_size
        state.forked = True
        for index in range(1, state.request.params.n):
            params = state.request.params
            child = Sequence(
                state, index, list(parent.tokens), parent.prompt_len,
                make_generator(params, index), self._text_stream(params.stop),
            )  # fmt: skip
            full, partial = divmod(parent.computed, size)
            for block in parent.blocks[:full]:
                self.pool.refs[block] += 1
            child.blocks = list(parent.blocks[:full])
            if partial:
                block = self.pool.allocate()
                self.pool.copy_block(parent.blocks[full], block, partial)
                child.blocks.append(block)
            child.computed, child.hashed_blocks, child.chain = (
                parent.computed,
                parent.hashed_blocks,
                parent.chain,
            )
            child.admitted_at = time.monotonic()
            self._add_guard(child)
            if (matcher := self._grammars.get(parent)) is not None:
                self._grammars[child] = matcher.copy()
            state.sequences.append(child)
            self._running.append(child)

    def _append(self, seq: Sequence, token: int, logprob: float) -> None:
        params = seq.state.request.params
        if token in self.stop_ids or token in params.stop_token_ids:
            self._finish(seq, "stop", flush=True)
            return
        seq.tokens.append(token)
        self.counters["generated_tokens"] += 1
        if params.logprobs:
            seq.logprobs.append(logprob)
        text, stopped = seq.text.push(token) if seq.text is not None else ("", False)
        guard = self._guards.get(seq)
        if guard is not None:
            guard.push(token)
        matcher = self._grammars.get(seq)
        if matcher is not None:
            self.counters["grammar_tokens"] += 1
            if not matcher.consume(token):  # cannot happen: the mask allowed the token
                error = f"the grammar refused token {token}: {matcher.error}"
                self._finish(seq, "error", token=token, text=text, logprob=logprob, error=error)
                return
        finish: FinishReason | None = None
        if stopped or (matcher is not None and matcher.finished):
            finish = "stop"  # a finished grammar: its output is complete, nothing may follow
        elif len(seq.output) >= params.max_tokens:
            finish = "length"
        elif guard is not None and guard.exhausted:
            finish = "repetition"  # it would loop again at once: end here instead
        if finish is None:
            self._emit(seq, (token,), text, (logprob,) if params.logprobs else None)
        else:
            self._finish(seq, finish, token=token, text=text, logprob=logprob, flush=not stopped)

    def _emit(
        self,
        seq: Sequence,
        tokens: tuple[int, ...],
        text: str,
        logprobs: tuple[float, ...] | None,
        finish: FinishReason | None = None,
        error: str | None = None,
    ) -> None:
        state = seq.state
        usage = None
        if finish is not None:
            state.finals_sent += 1
            if state.finals_sent == state.request.params.n:  # usage rides on the very last chunk
                completion = sum(len(s.output) for s in state.sequences)
                usage = Usage(len(state.request.prompt_ids), completion, state.cached_prompt_tokens)
        chunk = Chunk(state.request_id, seq.index, tokens, text, logprobs, finish, usage, error)
        try:
            state.sink(chunk)
        except Exception:  # a consumer that went away must not break the engine
            logger.warning("dropping chunk for %s: its consumer failed", state.request_id)

    def _finish(
        self,
        seq: Sequence,
        reason: FinishReason,
        *,
        token: int | None = None,
        text: str = "",
        logprob: float | None = None,
        flush: bool = False,
        error: str | None = None,
    ) -> None:
        if seq.finish_reason is not None:
            return
        seq.finish_reason = reason
        self._guards.pop(seq, None)
        self._grammars.pop(seq, None)
        if flush and seq.text is not None:
            text += seq.text.finish()
        if seq in self._running:
            self._running.remove(seq)
        if seq in self._waiting:
            self._waiting.remove(seq)
        self._release(seq)
        state, params = seq.state, seq.state.request.params
        unforked: list[Sequence] = []
        if params.n > 1 and not state.forked:
            # Ended before its prompt was done: the candidates never started end with it.
            state.forked = True
            unforked = [
                Sequence(
                    state, i, list(seq.tokens), seq.prompt_len, None, None, finish_reason=reason
                )
                for i in range(1, params.n)
            ]
            state.sequences.extend(unforked)
        tokens = () if token is None else (token,)
        logprobs = (logprob,) if params.logprobs and logprob is not None else None
        self._emit(seq, tokens, text, logprobs, reason, error)
        for other in unforked:
            self._emit(other, (), "", None, reason, error)
