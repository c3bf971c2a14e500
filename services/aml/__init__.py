"""twincore.services.aml: anti-money-laundering detection over transaction graphs.

Data (`frames`, `models`, `formats`, `storage`, `generator`), detection (`detectors`, `features`,
`classifier`, `pipeline`) and the workflow (runs, alerts, cases, SAR narratives) live in their own
modules; see README.md in this folder for the file formats.
"""
