"""Virtual try-on (MF-VITON direction): mask-free against mask-based, the automatic mask, data engine, scores."""
