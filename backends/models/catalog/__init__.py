"""The model table, one data-only module per task; ``backends.models.registry.default_registry`` joins them."""
