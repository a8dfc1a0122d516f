"""Values every layer shares: a job, how it can fail, what kind of media it delivers."""
