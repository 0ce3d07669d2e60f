"""One subpackage per task. Tasks never import each other; what two need lives in vision/, models/ or core/.

Each task has a torch-free ``types.py`` (requests, results, input checks): the only part of a task tabs import.
"""
