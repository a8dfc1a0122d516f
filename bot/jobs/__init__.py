"""The job manager: queue, bounds, cancellation, persistence, resume."""
