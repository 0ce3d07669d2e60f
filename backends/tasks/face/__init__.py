"""Face Q&A with measured evidence and attribute-checked face generation, in the UniF2ace direction."""
