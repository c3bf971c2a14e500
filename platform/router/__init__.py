"""Routing between the model cores: the decision types, the policy and the router."""
