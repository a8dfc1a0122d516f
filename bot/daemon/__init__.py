"""The process: entry, logging, the Application and its services, start-up and the one stop."""
