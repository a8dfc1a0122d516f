"""Operations: systemd notify and watchdog, the instance lock, metrics and the health server."""
