"""Command-line interface: console scripts built on Hydra (configs in ``configs/``)."""
