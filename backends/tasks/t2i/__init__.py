"""Bilingual text-to-image (Seedream 2.0 direction): diffusers pipelines and Seedream through the Ark API."""
