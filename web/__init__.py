"""The HTTP and admin kit every app's views share: the error body, pagination, the read-only admin.

It imports no app of Remit, so every app (and the core's own HTTP adapter) may import it.
"""
