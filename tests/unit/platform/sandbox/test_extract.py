"""Taking the code out of a model's reply."""

from __future__ import annotations

from twincore.platform.sandbox.extract import extract_code


def test_the_block_in_the_language_wins() -> None:
    reply = (
        "Here:\n```bash\npip install x\n```\nand\n```python\n    def f():\n        return 1\n```\n"
    )
    assert extract_code(reply, "python") == "def f():\n    return 1\n"


def test_untagged_block_then_bare_text() -> None:
    assert extract_code("```\nint f() { return 1; }\n```", "cpp") == "int f() { return 1; }\n"
    assert extract_code("def g():\n    pass", "python") == "def g():\n    pass\n"


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert extract_code("```java\nclass Solution {}\n", "java") == "class Solution {}\n"


def test_the_longest_of_several_blocks() -> None:
    reply = "```cpp\nint a;\n```\n```c++\n#include <vector>\nint f() { return 2; }\n```"
    assert extract_code(reply, "cpp").startswith("#include <vector>")
