"""twincore.apps: one Gradio front end per service, plus the platform console.

Not built yet: each app lands with its service's issue.
"""
