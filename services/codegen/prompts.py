"""The prompts of the generation loop: write the code. A repair turn is the router's
(`escalation.repair_messages`), carrying the failing tests' output as the checker's reasons."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

LANGUAGE_NAMES = {"python": "Python 3", "java": "Java 17", "cpp": "C++17"}
FENCE_TAGS = {"python": "python", "java": "java", "cpp": "cpp"}

SYSTEM = (
    "You are an expert {language_name} programmer. You write correct, complete, self-contained "
    "code that uses only the standard library. Answer with one ```{tag} code block."
)

# What each language's answer must look like for the tests to find it.
SHAPE = {
    "python": "Write the complete function (with its imports), no example usage and no tests.",
    "java": (
        "Write the complete `class Solution` (not public) with its imports and the method as "
        "declared; no `main` method and no tests."
    ),
    "cpp": (
        "Write the complete function with its #include lines; no `main` function and no tests."
    ),
}

WRITE = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "{spec_block}{signature_block}{tests_block}{shape}",
        ),
    ]
)


def write_variables(language: str, spec: str, signature: str, tests: str) -> dict[str, str]:
    """The variables of WRITE for a task: a spec and/or a signature, optional tests."""
    tag = FENCE_TAGS[language]
    spec_block = f"{spec.strip()}\n\n" if spec.strip() else ""
    signature_block = (
        f"Complete this code:\n```{tag}\n{signature.rstrip()}\n```\n\n" if signature.strip() else ""
    )
    tests_block = (
        f"Your code must pass these tests:\n```{tag}\n{tests.rstrip()}\n```\n\n"
        if tests.strip()
        else ""
    )
    return {
        "language_name": LANGUAGE_NAMES[language],
        "tag": tag,
        "spec_block": spec_block,
        "signature_block": signature_block,
        "tests_block": tests_block,
        "shape": SHAPE[language],
    }
