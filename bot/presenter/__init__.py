"""What a job shows in the chat: one presenter per job owns its status message and every text."""
