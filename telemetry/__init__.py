"""What operators see of Remit: request context, JSON logs, Prometheus metrics and OpenTelemetry traces.

A kit every app and process may import; it imports no Remit package.
"""
