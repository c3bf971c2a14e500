"""The prompts of writing generation: compose from a topic, rewrite a text, revise from failures."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate

from twincore.services.writing.registry import Style

SYSTEM = (
    "You are a skilled writer. Write in this style: {name}.\n{description}\n\n"
    "How to write it:\n{instructions}\n\n"
    "The text must meet every one of these rules:\n{rules}\n\n"
    "Examples of the style:\n{exemplars}\n\n"
    "Answer with the text only: no title, no explanation, no quotation marks."
)

COMPOSE = ChatPromptTemplate.from_messages(
    [("system", SYSTEM), ("human", "Write a text in this style about: {topic}")]
)

REWRITE = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Rewrite the following text in this style. Keep its content: the same people, "
            "facts and events.\n\n{source}",
        ),
    ]
)

# The revise turn names each failed constraint with the checker's reason, so the model knows
# what to fix rather than being told only that it failed.
REVISE = (
    "Your text does not follow the style's rules yet. These checks failed:\n{failures}\n\n"
    "Write the whole text again so that it meets every rule. Answer with the text only."
)


def style_variables(style: Style) -> dict[str, str]:
    """The SYSTEM variables for a style: its names, instructions, rules and exemplars."""
    name = style.name_en if style.language == "en" else f"{style.name_zh} ({style.name_en})"
    rules = "\n".join(f"- {c.description}" for c in style.constraints)
    exemplars = "\n\n".join(
        f"Example {i}:\n{text}" for i, text in enumerate(style.exemplars, start=1)
    )
    return {
        "name": name,
        "description": style.description,
        "instructions": style.instructions,
        "rules": rules,
        "exemplars": exemplars,
    }


def revise_message(reasons: list[str]) -> str:
    """The revise turn for a checker report's failure reasons."""
    return REVISE.format(failures="\n".join(f"- {why}" for why in reasons))
