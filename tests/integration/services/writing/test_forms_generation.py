"""Form grammars on swift's real weights (Qwen2.5-Coder-0.5B): a 五言绝句 and a haiku composed
through the router keep every constraint their grammar guarantees, on every candidate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from twincore.model_core.backends.native import CoreProfile, NativeBackend
from twincore.platform.cores import CoreServer
from twincore.platform.router.classifier import TaskClassifier
from twincore.platform.router.policy import TwoStagePolicy
from twincore.platform.router.router import Router
from twincore.platform.router.rules import load_policy
from twincore.services.writing.checkers import english
from twincore.services.writing.forms import build_form
from twincore.services.writing.generate.drafts import WritingTask
from twincore.services.writing.generate.run import WritingRun, writing_chat_model
from twincore.services.writing.registry import get_style

pytestmark = pytest.mark.anyio
QWEN = "qwen2.5-coder-0.5b-instruct"


@pytest.fixture(scope="module")
def qwen_cores(session_data_dir: Path) -> Iterator[dict[str, CoreServer]]:
    """Qwen2.5-Coder-0.5B as swift (its default), SmolLM2 as deep (the 1.5B is too big here)."""
    backends = {
        "swift": NativeBackend(CoreProfile("swift", QWEN), data_dir=session_data_dir),
        "deep": NativeBackend(
            CoreProfile("deep", "smollm2-135m-instruct"), data_dir=session_data_dir
        ),
    }
    yield {name: CoreServer.from_backend(b) for name, b in backends.items()}
    for backend in backends.values():
        backend.close()


@pytest.mark.parametrize(
    ("style_id", "topic", "max_tokens"),
    [("wujue", "秋天的山", 64), ("haiku", "autumn rain", 48)],
)
async def test_swift_composes_inside_the_form(
    qwen_cores: dict[str, CoreServer], style_id: str, topic: str, max_tokens: int
) -> None:
    router = Router(qwen_cores, TwoStagePolicy(load_policy(), TaskClassifier.load()))
    style = get_style(style_id)
    form = build_form(style)
    assert form is not None
    run = WritingRun(
        writing_chat_model(router, model="swift"),
        WritingTask(style, "compose", topic),
        n=2,
        revise=False,
        max_tokens=max_tokens,
    )
    result = await run.run()
    assert result.best.core == "swift" and len(result.drafts) == 2
    for draft in result.drafts:
        verdicts = {r.description: r.passed for r in draft.report.results}
        # Every constraint the grammar holds is met, whatever the model chose to say.
        assert all(verdicts[d] for d in form.guaranteed), (draft.text, draft.report.reasons)
        lines = draft.text.splitlines()
        if style_id == "wujue":
            assert set(form.guaranteed) == set(verdicts)  # lines, characters and the rhyme
            assert draft.report.passed and len(lines) == 4
        else:  # syllables are the checker's: each line at most one word per allowed syllable
            assert len(lines) == 3
            counts = [len(english.words(line)) for line in lines]
            assert all(1 <= n <= most for n, most in zip(counts, (5, 7, 5), strict=True))
