"""twincore.services: the domain services (aml, support, codegen, writing, tutor).

Not built yet: each service lands with its own issue.
"""
