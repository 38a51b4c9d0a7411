#!/usr/bin/env python
"""Django's command-line entry point: migrations, the worker and the operators' commands.

In a source checkout (a `.git` beside this file) the settings default to `config.settings.dev`, so
the README's commands work as written next to `scripts/run`; anywhere else, and in the image
(which sets DJANGO_SETTINGS_MODULE), to `config.settings.production`, which has no defaults.
"""

import os
import sys
from pathlib import Path


def main() -> None:
    checkout = (Path(__file__).resolve().parent / ".git").exists()
    os.environ.setdefault(
        "DJANGO_SETTINGS_MODULE", "config.settings.dev" if checkout else "config.settings.production"
    )
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
