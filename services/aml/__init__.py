"""twincore.services.aml: anti-money-laundering detection over transaction graphs.

`service.AmlService` is the facade (registered in `component.py`); datasets get in through
`ingest/`, detection and the risk model live in `detect/`, case work in `cases/` and SAR
narratives in `narrative/`. README.md in this folder maps every file and the data formats.
"""
