"""`python main.py doctor`: one line per check of the installation, `ok|warn|fail <check> ...`."""
