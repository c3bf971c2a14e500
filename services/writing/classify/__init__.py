"""The style classifier (`classifier`) and the labelled-draft corpus it trains on (`labelled`)."""
