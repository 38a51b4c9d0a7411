"""The Remit core: money, events, limit policy and errors in plain Python, free of any framework."""
