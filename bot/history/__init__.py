"""A user's link history: its pages, erasing it, and how a link reads in a list."""
