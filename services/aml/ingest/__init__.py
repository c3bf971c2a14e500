"""How datasets get in: the in-memory `Dataset` (`frames`), the file formats and their
validation (`formats`), the packaged AMLSim samples (`samples`) and the synthetic generator
(`generator` over `background` traffic and `planting` of laundering). See ../README.md."""
