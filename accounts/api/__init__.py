"""The HTTP face of accounts (DRF)."""
