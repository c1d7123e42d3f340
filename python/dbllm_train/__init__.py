"""dbllm_train: deviation-aware distillation (DAD) of flexible-dual-binarized (FDB) LLaMA-family students.

The PyTorch side of dbllm: loads a float teacher (Hugging Face directory, GGUF file or .dbllm file), builds an
FDB student initialised exactly like `dbllm quantize`, distills it with the DAD loss and writes a .dbllm file the
TypeScript/WebAssembly runtime runs. See docs/DISTILL.md.
"""

__version__ = "0.1.0"
