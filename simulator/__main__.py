"""python -m simulator <command> — see `python -m simulator --help`."""

from simulator.cli import main

raise SystemExit(main())
