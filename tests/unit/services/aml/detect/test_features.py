"""Account and transaction features: one finite row per account / transaction, signals in place."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from twincore.services.aml.detect.detectors import PATTERNS, run_detectors
from twincore.services.aml.detect.features import account_features
from twincore.services.aml.detect.txn_features import transaction_context, transaction_features


def test_account_features_cover_every_account_and_flag_the_fan(synth: SimpleNamespace) -> None:
    payments = synth.background()
    synth.plant("fan_out", payments)
    data = synth.dataset(payments)
    hits = run_detectors(data)
    frame = account_features(data, hits=hits, patterns=PATTERNS)

    assert len(frame) == data.n_accounts
    assert np.isfinite(frame.to_numpy()).all()
    assert {f"hit_{p}" for p in PATTERNS} <= set(frame.columns)
    hub, quiet = frame.loc[3], frame.loc[2]
    assert hub["fan_out_window_max"] == 7  # payees 10..15 (10 is also habitual) and 4
    assert quiet["fan_out_window_max"] == 2
    assert hub["hit_fan_out"] >= 1 and quiet["hit_fan_out"] == 0
    assert hub["out_sender_dev_max"] > 1.0 and quiet["out_sender_dev_max"] == 0.0
    assert quiet["out_mode_share"] == 1.0 and hub["out_mode_share"] < 1.0
    # Two-hop: the hub's payees see it (its deviation) one hop away.
    assert frame.loc[10, "nbr_max_out_sender_dev_max"] == hub["out_sender_dev_max"]


def test_reciprocity_and_pass_through(synth: SimpleNamespace) -> None:
    payments = synth.background()
    synth.plant("simple_cycle", payments)
    data = synth.dataset(payments)
    frame = account_features(data)
    assert (frame["reciprocity"] == 0).all()  # neither the ring nor the cycle pays back directly
    assert frame["pass_through"].between(0, 1).all()
    assert frame["flow_balance"].between(-1, 1).all()


def test_transaction_features_align_with_transactions(synth: SimpleNamespace) -> None:
    payments = synth.background()
    synth.plant("structuring", payments)
    data = synth.dataset(payments)
    context = transaction_context(data)
    accounts = account_features(data, context=context)
    frame = transaction_features(data, accounts, context)
    assert len(frame) == data.n_transactions
    assert np.isfinite(frame.to_numpy()).all()
    habitual = frame["sender_dev"].to_numpy()[data.transactions["label"].to_numpy() == 0]
    planted = frame["sender_dev"].to_numpy()[data.transactions["label"].to_numpy() == 1]
    assert planted.min() > habitual.max()
