"""yt-dlp kept current: the newest on the package index, staged under DATA_DIR, tested, used."""
