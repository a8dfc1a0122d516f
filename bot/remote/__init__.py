"""Past one machine: the front's job engine and the workers' side, through Redis and SAQ."""
