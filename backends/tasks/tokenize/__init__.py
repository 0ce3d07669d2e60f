"""The tokenizer reconstruction visualizer: weight-free codecs, diffusers autoencoders, research tokenizers."""
