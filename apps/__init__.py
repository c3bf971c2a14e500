"""twincore.apps: Gradio front ends mounted by the gateway at /ui/<name>.

Built so far: the playground (chat with either core, the routing decision shown). Each service's
app lands with its service's issue; the console with the router's.
"""
