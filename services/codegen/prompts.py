"""The prompts of the generation loop: write the code, then repair it from the sandbox's log."""

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

REPAIR = (
    "Your code did not pass. This is what happened when it ran against the tests:\n"
    "```\n{log}\n```\n"
    "Find the mistake and answer with the whole corrected code in one ```{tag} code block."
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
