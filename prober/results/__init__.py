"""Results files read back: streamed reading, baselines, and what changed between two sweeps."""
