"""Adapters for released research tokenizers, one module per paper (loading their checkpoints natively)."""
