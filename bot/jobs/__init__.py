"""The job engine: the pipeline that runs a job, its events and outcomes, and the manager
that queues, bounds, cancels and resumes jobs."""
