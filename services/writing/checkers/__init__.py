"""Style checkers: score a text against a style's constraints, with reasons for each failure."""

from twincore.services.writing.checkers.report import CheckReport, check_text

__all__ = ["CheckReport", "check_text"]
