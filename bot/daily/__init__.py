"""The daily job: the expiry notice to admins, purging what expired, sweeping stale files."""
