"""twincore.apps: Gradio front ends mounted by the gateway at /ui/<name>.

Built so far: the playground (chat with either core, the routing decision shown) and the console
(core health, recent decisions, the router's quality vs cost). Each service's app lands with its
service's issue.
"""
