"""twincore.model_core: the DeepSeek-V3 / Kimi K2 model family, checkpoint loading and the engine.

config + configs/ (presets), model (one file for the family), loader (safetensors, FP8, GGUF),
tokenizer + chat_template, weights (default models), quant, engine/, backends/, bench.
"""
