"""Pure classifier code: what a verdict is, the text features, the model and its inference.
No I/O, no clock (tests/unit/test_architecture.py checks this folder)."""
