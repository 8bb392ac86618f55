"""Fine-tuning: LoRA SFT, DPO/KTO and continued pre-training on a laptop's CPU.

`lingxi.tune.data` reads and validates training data for every method; `lingxi.tune.template`
applies the model's own chat template the way llama.cpp does when serving; `lingxi.tune.base`
loads the base model (a GGUF dequantised through transformers, or a Hugging Face folder).
The heavy libraries (torch, transformers, peft, trl) are imported only when a run starts:
``pip install 'lingxi[tune]'``.
"""
