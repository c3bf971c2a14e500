"""Vectorised field parsers: each returns the parsed values and a mask of the rows that failed."""

from __future__ import annotations

import numpy as np
import pandas as pd  # type: ignore[import-untyped]  # the lock carries no pandas-stubs

TRUE_WORDS = ("1", "true", "yes")
FALSE_WORDS = ("0", "false", "no")


def parse_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Finite floats; bad = empty, not a number, NaN or infinite."""
    parsed = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return parsed, ~np.isfinite(parsed)


def parse_int(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whole numbers (a trailing '.0' is accepted); bad = anything else."""
    floats, bad = parse_float(values)
    bad = bad | (np.floor(np.where(bad, 0.0, floats)) != np.where(bad, 0.0, floats))
    return np.where(bad, 0, floats).astype(np.int64), bad


def parse_label(
    values: pd.Series, *, allow_blank: bool
) -> tuple[pd.arrays.IntegerArray, np.ndarray]:
    """0/1 labels (also true/false, yes/no); blank = unknown (<NA>) when allowed, else bad."""
    lowered = values.str.lower()
    positive = lowered.isin(TRUE_WORDS).to_numpy()
    negative = lowered.isin(FALSE_WORDS).to_numpy()
    blank = (lowered == "").to_numpy()
    labels = pd.array(np.where(positive, 1, 0), dtype="Int8")
    labels[~(positive | negative)] = pd.NA
    bad = ~(positive | negative | (blank & allow_blank))
    return labels, bad


def parse_timestamp(values: pd.Series, *, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    """Unix seconds (UTC); `fmt` is a strptime format or "ISO8601" (an offset is honoured, a
    naive time is read as UTC); bad = empty or unparseable."""
    parsed = pd.to_datetime(values, format=fmt, utc=True, errors="coerce")
    bad = parsed.isna().to_numpy()
    filled = parsed.fillna(pd.Timestamp(0, tz="UTC")) if bad.any() else parsed
    return filled.dt.as_unit("s").astype("int64").to_numpy(dtype=np.int64), bad
