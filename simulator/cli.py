"""Command line of the simulator.

  python -m simulator seed --lines 10000 --seed 42      a demo population
  python -m simulator check                             the invariant check over the whole store
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from mts_portal.core import runtime
from mts_portal.core.auth import format_msisdn
from mts_portal.core.db import get_engine, read
from mts_portal.core.migrate import migrate


def _engine(url: str | None):
    engine = get_engine(url)
    migrate(engine)
    return engine


def cmd_seed(args) -> int:
    from simulator.population import DEMO_PASSWORD, seed

    engine = _engine(args.db)
    result = seed(engine, lines=args.lines, seed=args.seed, now=runtime.now(), progress=not args.quiet)
    print(f"seeded {result.lines} lines in {result.accounts} accounts in {result.seconds:.1f} s "
          f"({result.lines / max(result.seconds, 1e-9):.0f} lines/s)")
    print(f"demo logins (password for each: {DEMO_PASSWORD}, or a code from the demo phone panel):")
    for d in result.demo:
        extra = f" (+{len(d['lines']) - 1} more number)" if len(d["lines"]) > 1 else ""
        print(f"  {d['label']}: {format_msisdn(d['msisdn'])}  {d['tariff']:<11} {d['holder']}{extra}")
    return 0


def cmd_demo_logins(args) -> int:
    from simulator.demo import demo_logins
    from simulator.population import DEMO_PASSWORD

    engine = _engine(args.db)
    rows = read(engine, lambda s: demo_logins(s))
    print(f"demo logins (password {DEMO_PASSWORD}, or a code from the demo phone panel):")
    for i, d in enumerate(rows, 1):
        print(f"  demo-{i}: {d['label']}  {d['tariff']:<11} {d['holder']}")
    return 0


def cmd_check(args) -> int:
    from mts_portal.core.billing import check_invariants

    engine = _engine(args.db)
    problems = read(engine, lambda s: check_invariants(session=s))
    print(json.dumps({"invariant_violations": len(problems), "first": problems[:10]}, ensure_ascii=False))
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator", description="mts_portal network simulator")
    p.add_argument("--db", help="store URL (default: MTS_DB_URL)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed", help="create a demo population")
    s.add_argument("--lines", type=int, default=1000)
    s.add_argument("--seed", type=int, default=42)
    s.set_defaults(fn=cmd_seed)
    d = sub.add_parser("demo-logins", help="print the demo logins of a seeded store")
    d.set_defaults(fn=cmd_demo_logins)
    c = sub.add_parser("check", help="check DESIGN §5 invariants over the store")
    c.set_defaults(fn=cmd_check)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.lines <= 0 if hasattr(args, "lines") else False:
        print("--lines must be positive", file=sys.stderr)
        return 2
    return args.fn(args)
