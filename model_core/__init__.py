"""twincore.model_core: the DeepSeek-V3 / Kimi K2 model family, checkpoint loading and the engine.

Not built yet: the model file, loaders and engine land with the model_core and engine issues.
"""
