"""The zero-shot property pipeline: formulation -> box -> MD protocol -> analysis -> report."""
