"""The leaf layer: errors, validation, run control, recipes, imaging, prompt text and settings.

Only the standard library, numpy and PIL are imported here, so tabs, the arena and the tests use these on machines
without torch.
"""
