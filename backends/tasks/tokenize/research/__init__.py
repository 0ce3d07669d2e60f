"""Native adapters of released research tokenizers, one module per paper (llamagen, robusttok, titok with
maskgit_vqgan, semanticist with dit, vavae; lactok says what it lacks), on the shared loading of adapter.py and
checkpoint.py and the building blocks of common.py."""
