"""The HTTP face of movements and events (DRF)."""
