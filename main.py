"""Run the tgfetch daemon: `python main.py` (settings come from the environment and .env)."""

import sys

from bot.daemon.launch import main

if __name__ == "__main__":
    sys.exit(main())
