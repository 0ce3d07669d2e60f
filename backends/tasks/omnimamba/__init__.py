"""OmniMamba (hustvl/OmniMamba, arXiv:2503.08686) on transformers' native Mamba-2: understanding and generation."""
