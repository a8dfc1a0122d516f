"""Settings: the only place that reads the environment, and the errors that stop start-up."""
