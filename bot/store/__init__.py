"""SQLite storage: schema, migrations, one small repository per table."""
