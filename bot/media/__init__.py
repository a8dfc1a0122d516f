"""Post-processing a fetched file: the kind it goes as (ffprobe), inline video remuxed into a
faststart MP4, sound tagged with a cover, thumbnails (ffmpeg)."""
