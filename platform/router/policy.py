"""Stage 2 of routing: which core serves a request first, and with how much compute.

`TwoStagePolicy` obeys an explicit model; otherwise it classifies the task (stage 1), walks the
YAML rules (the seed's decision tree), lets the deep score decide where a rule says `score`, then
respects live cores, queue depth and a latency target, and sizes the budget from the labels.
Every decision carries its reason and the numbers behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from twincore.platform.router.classifier import HEADS, TaskClassifier, TaskLabels
from twincore.platform.router.load import CoreState
from twincore.platform.router.rules import Budget, PolicyConfig, Rule
from twincore.platform.router.types import AUTO, Decision, RouteRequest

DEFAULT_CORE = "swift"
LATENCY_FIRST = "swift"


class RoutingPolicy(Protocol):
    """Chooses the first core (and its budget) for a request; the router handles failures."""

    def choose(self, request: RouteRequest, cores: Mapping[str, CoreState]) -> Decision: ...


class ExplicitOrDefaultPolicy:
    """`model: deep|swift` is obeyed; `auto` goes to one fixed core (tests, simple setups)."""

    def __init__(self, default_core: str = DEFAULT_CORE) -> None:
        self.default_core = default_core

    def choose(self, request: RouteRequest, cores: Mapping[str, CoreState]) -> Decision:
        params = request.core_request.params
        if request.model != AUTO:
            core, reason = request.model, f"explicit model {request.model!r}"
        else:
            core, reason = self.default_core, f"auto: default core {self.default_core!r}"
        return Decision(core=core, reason=reason, max_tokens=params.max_tokens, candidates=params.n)


def request_text(request: RouteRequest) -> str:
    """What the classifier reads: the last user message (or the raw prompt)."""
    core_request = request.core_request
    if core_request.prompt is not None:
        return core_request.prompt
    users = [m.get("content", "") for m in core_request.messages if m.get("role") == "user"]
    return users[-1] if users else str(core_request.messages[-1].get("content", ""))


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters per token, one per CJK character."""
    cjk = sum("\u3400" <= ch <= "\u9fff" for ch in text)
    return cjk + (len(text) - cjk) // 4 + 1


class TwoStagePolicy:
    """The classifier plus the YAML policy."""

    def __init__(self, config: PolicyConfig, classifier: TaskClassifier) -> None:
        self.config, self.classifier = config, classifier

    def labels(self, request: RouteRequest) -> TaskLabels:
        forced = {h: v for h, v in request.hints.items() if h in HEADS}
        if request.service in HEADS["domain"] and "domain" not in forced:
            forced["domain"] = request.service  # a service knows its own domain
        return self.classifier.classify(request_text(request), forced=forced)

    def deep_score(self, labels: TaskLabels, prompt_tokens: int) -> float:
        score = self.config.score
        total = score.bias + sum(
            weight * math.prod(labels.p(*term.split(".", 1)) for term in key.split("&"))
            for key, weight in score.weights.items()
        )
        if prompt_tokens > score.long_prompt_tokens:
            total += score.long_prompt_weight
        return min(max(total, 0.0), 1.0)

    def threshold(self) -> float:
        """The deep score needed for deep: the configured bar raised by deep's extra price."""
        price = self.config.price
        extra = (price["deep"] - price["swift"]) / price["deep"] if price["deep"] > 0 else 0.0
        return min(self.config.deep_threshold + self.config.cost_weight * max(extra, 0.0), 1.0)

    def choose(self, request: RouteRequest, cores: Mapping[str, CoreState]) -> Decision:
        params = request.core_request.params
        if request.model != AUTO:
            return Decision(
                core=request.model,
                reason=f"explicit model {request.model!r}",
                max_tokens=params.max_tokens,
                candidates=params.n,
                temperature=params.temperature,
            )
        text = request_text(request)
        labels = self.labels(request)
        prompt_tokens = estimate_tokens(text)
        score = self.deep_score(labels, prompt_tokens)
        threshold = self.threshold()
        core, reason = self._by_rules(labels, request, prompt_tokens, score, threshold)
        budget = self._budget(labels, request)
        max_tokens = budget.max_tokens or params.max_tokens
        core, why = self._adjust_for_cores(core, cores, request.latency_target_ms, max_tokens)
        scores = {"deep_score": round(score, 4), "threshold": round(threshold, 4)}
        scores["prompt_tokens"] = float(prompt_tokens)
        for head, probs in labels.probabilities.items():
            scores.update({f"{head}.{label}": p for label, p in probs.items()})
        for name, state in cores.items():
            scores[f"est_ms.{name}"] = round(self._estimate_ms(name, state, max_tokens), 1)
        return Decision(
            core=core,
            reason="; ".join([reason, *why]),
            max_tokens=max_tokens,
            candidates=budget.candidates or params.n,
            temperature=params.temperature if budget.temperature is None else budget.temperature,
            verify=bool(budget.verify),
            mode=self.config.mode,
            labels={head: labels.label(head) for head in labels.probabilities},
            scores=scores,
        )

    def _by_rules(
        self,
        labels: TaskLabels,
        request: RouteRequest,
        prompt_tokens: int,
        score: float,
        threshold: float,
    ) -> tuple[str, str]:
        for rule in self.config.rules:
            if not _matches(rule, labels, request.service, prompt_tokens):
                continue
            if rule.core != "score":
                return rule.core, f"rule {rule.name} -> {rule.core}"
            core = "deep" if score >= threshold else "swift"
            sign = ">=" if core == "deep" else "<"
            return core, f"rule {rule.name}: deep score {score:.2f} {sign} {threshold:.2f}"
        core = "deep" if score >= threshold else "swift"
        return core, f"deep score {score:.2f} vs threshold {threshold:.2f}"

    def _budget(self, labels: TaskLabels, request: RouteRequest) -> Budget:
        """Default budget, then each winning label's overrides; fields the client set win."""
        merged = self.config.budgets.default.model_dump()
        for key, budget in self.config.budgets.by_label.items():
            head, _, label = key.partition(".")
            if labels.label(head) == label:
                merged.update(budget.model_dump(exclude_none=True))
        params = request.core_request.params
        client = {"max_tokens": params.max_tokens, "candidates": params.n}
        client["temperature"] = params.temperature  # type: ignore[assignment]
        for name, value in client.items():
            if name in request.client_set:
                merged[name] = value
        return Budget.model_validate(merged)

    def _estimate_ms(self, name: str, state: CoreState, max_tokens: int) -> float:
        load = self.config.load
        ttft = state.ttft_ms if state.ttft_ms is not None else load.prior_ttft_ms.get(name, 0.0)
        per_token = state.ms_per_token
        if per_token is None:
            per_token = load.prior_ms_per_token.get(name, 0.0)
        return ttft * (1 + state.waiting) + per_token * max_tokens

    def _adjust_for_cores(
        self,
        core: str,
        cores: Mapping[str, CoreState],
        latency_target_ms: float | None,
        max_tokens: int,
    ) -> tuple[str, list[str]]:
        """Never a dead core; skip a saturated one; meet the latency target if any core can."""
        live = [name for name, state in cores.items() if state.live]
        why: list[str] = []
        if core not in live and live:
            core, why = live[0], [f"{core} is down -> {live[0]}"]
        others = [n for n in live if n != core]
        limit = self.config.load.max_queue
        if core in cores and cores[core].waiting >= limit and others:
            free = [n for n in others if cores[n].waiting < limit]
            if free:
                why.append(f"{core} saturated ({cores[core].waiting} waiting) -> {free[0]}")
                core = free[0]
        if latency_target_ms is None or not live:
            return core, why
        estimates = {n: self._estimate_ms(n, cores[n], max_tokens) for n in live}
        if estimates.get(core, 0.0) <= latency_target_ms:
            return core, why
        meeting = [n for n in live if estimates[n] <= latency_target_ms]
        if meeting:
            chosen = min(meeting, key=estimates.__getitem__)
            why.append(
                f"latency target {latency_target_ms:.0f} ms: {core} est "
                f"{estimates.get(core, 0.0):.0f} ms -> {chosen} est {estimates[chosen]:.0f} ms"
            )
            return chosen, why
        chosen = LATENCY_FIRST if LATENCY_FIRST in live else min(live, key=estimates.__getitem__)
        why.append(
            f"best-effort: no core meets the latency target {latency_target_ms:.0f} ms "
            f"({chosen} est {estimates[chosen]:.0f} ms)"
        )
        return chosen, why


def _matches(rule: Rule, labels: TaskLabels, service: str | None, prompt_tokens: int) -> bool:
    for key, wanted in rule.when.items():
        if isinstance(wanted, int):
            over = key == "prompt_tokens_over"
            ok = prompt_tokens > wanted if over else prompt_tokens < wanted
            if not ok:
                return False
            continue
        accepted = [wanted] if isinstance(wanted, str) else wanted
        ok = (service if key == "service" else labels.label(key)) in accepted
        if not ok:
            return False
    return True
