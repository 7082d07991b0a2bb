"""Long-range electrostatics shared by both force fields (Ewald sums of charges and point dipoles)."""
