"""Post-processing a fetched file: what kind of media it is (ffprobe), a thumbnail (ffmpeg)."""
