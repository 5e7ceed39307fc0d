"""Command line of the simulator.

  python -m simulator seed --lines 10000 --seed 42      a demo population
  python -m simulator check                             the invariant check over the whole store
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path

from mts_portal.core import runtime
from mts_portal.core.auth import format_msisdn
from mts_portal.core.db import get_engine, read
from mts_portal.core.migrate import migrate


def _engine(url: str | None):
    engine = get_engine(url)
    migrate(engine)
    return engine


def cmd_seed(args) -> int:
    from mts_portal.core.seeding import seeding_lock
    from simulator.population import DEMO_PASSWORD, seed

    engine = _engine(args.db)
    with seeding_lock():  # a portal starting meanwhile waits for the population (services.py)
        result = seed(engine, lines=args.lines, seed=args.seed, now=runtime.now(), progress=not args.quiet,
                      history_days=args.history_days, background_days=args.background_days,
                      background_scale=args.background_scale)
    print(f"seeded {result.lines} lines in {result.accounts} accounts in {result.seconds:.1f} s")
    if result.history is not None:
        print(f"their past: {result.history.line()}")
    print(f"demo logins (password for each: {DEMO_PASSWORD}, or a code from the demo phone panel):")
    for d in result.demo:
        n = len(d['lines']) - 1
        extra = f" (+{n} more number{'s' if n > 1 else ''})" if n else ""
        print(f"  {d['label']}: {format_msisdn(d['msisdn'])}  {d['tariff']:<11} {d['holder']}{extra}")
    from simulator.home import DEMO_CONTRACTS, DEMO_HOMES

    print(f"«Интернет и ТВ» contracts (login «Интернет и ТВ» on /login, password {DEMO_PASSWORD} or a code):")
    for contract, (login, persona, tariff, _codes) in zip(DEMO_CONTRACTS, DEMO_HOMES, strict=True):
        linked = f", linked to demo-{login}" if login else ""
        print(f"  {contract}  {tariff:<12} {persona}{linked}")
    return 0


def _sender(args, engine):
    from mts_portal.core.settings import get_settings
    from simulator.runner import HttpSender, InProcessSender

    if args.url:
        token = args.token or get_settings().effective_operator_token
        if not token:
            raise SystemExit("--url needs --token (or MTS_OPERATOR_TOKEN)")
        return HttpSender(args.url, token)
    return InProcessSender(engine, move_store_clock=True)


def cmd_run(args) -> int:
    from simulator.runner import Faults, Runner
    from simulator.traffic import TrafficGenerator, load_population

    engine = _engine(args.db)
    faults = Faults(args.duplicates, args.reorder, args.malformed, args.late)
    for name, p in vars(faults).items():
        if not 0 <= p <= 1:
            raise SystemExit(f"--{name} must be a probability between 0 and 1")
    sender = _sender(args, engine)
    out = Path(args.out) if args.out else None
    if args.replay:
        runner = Runner(sender, batch=args.batch, seed=args.seed, progress=not args.quiet, topups=False)
        summary = runner.replay(Path(args.replay))
    else:
        pop = load_population(engine)
        if not len(pop):
            raise SystemExit("the store has no lines: run `python -m simulator seed` first")
        personas = dict(zip(pop.msisdns, pop.personas, strict=True))
        run_id = args.run_id or f"s{args.seed}-{int(time.time())}"
        gen = TrafficGenerator(pop, seed=args.seed, run_id=run_id)
        runner = Runner(sender, batch=args.batch, faults=faults, seed=args.seed, out=out, personas=personas,
                        topups=not args.no_topups, progress=not args.quiet)
        if args.live:
            now_fn = (lambda: sender.now()) if args.url else runtime.now
            summary = runner.live(gen, args.rate, args.duration, now_fn)
        else:
            start = datetime.fromisoformat(args.start) if args.start else (
                sender.now() if args.url else runtime.now())
            summary = runner.fast_forward(gen, start, args.days)
    runner.close()
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def cmd_sms(args) -> int:
    """A subscriber answers the service number (e.g. «Да» to a family invitation)."""
    if args.url:
        import httpx

        from mts_portal.core.settings import get_settings

        token = args.token or get_settings().effective_operator_token
        r = httpx.post(args.url.rstrip("/") + "/api/v1/sms/inbound", json={"from": args.sender, "text": args.text},
                       headers={"Authorization": f"Bearer {token}"})
        print(r.text)
        return 0 if r.status_code == 200 else 1
    from mts_portal.core import family
    from mts_portal.core.db import transact
    from mts_portal.core.errors import DomainError

    engine = _engine(args.db)
    try:
        result = transact(engine, lambda s: family.sms_reply(s, args.sender, args.text, runtime.now()))
    except DomainError as exc:  # an unknown, malformed or blocked sender: a clear answer, not a traceback
        print(json.dumps({"error": exc.code, "reason": exc.message_en, "reason_ru": exc.message_ru},
                         ensure_ascii=False), file=sys.stderr)
        return 1
    print(json.dumps({"result": result}))
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


def _print_entry(e: dict, lang: str) -> None:
    when = f"{e.get('t', 0):>7.1f} s"
    who = f" [{e['who']}]" if e.get("who") else ""
    print(f"  {when}{who} {e['en' if lang == 'en' else 'ru']}", flush=True)


def _print_outcomes(outcomes: list[dict], lang: str) -> bool:
    print("outcomes:" if lang == "en" else "итоги:")
    for o in outcomes:
        mark = "✓" if o["met"] else "✗"
        extra = "" if o["met"] else f"   (expected {o['expected']}, got {o['actual']})"
        print(f"  {mark} {o['text_en' if lang == 'en' else 'text_ru']}{extra}")
    return all(o["met"] for o in outcomes)


def cmd_scenario_list(args) -> int:
    from simulator.scenario import all_scenarios

    for sc in all_scenarios():
        print(f"{sc.name:<20} {sc.title(args.lang)}  ({len(sc.steps)} steps, {len(sc.expect)} checks, "
              f"{sc.duration_s:.0f} s of scenario time)")
        print("    " + " ".join(sc.story(args.lang).split()))
    return 0


def cmd_scenario_run(args) -> int:
    """Run a scenario: in this process on the store (default: fast-forward), or in a running portal (--url)."""
    from simulator.scenario import Run, ScenarioError, load

    try:
        sc = load(args.name)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{sc.title(args.lang)} — {' '.join(sc.story(args.lang).split())}")
    if args.url:
        return _scenario_over_http(args, sc)
    from mts_portal.core.clock import SimulatedClock

    engine = _engine(args.db)
    clock = runtime.clock()
    moves = any(st.get("do") == "clock" for st in sc.steps)
    speed = 0.0 if args.speed is None else args.speed
    if not isinstance(clock, SimulatedClock) and (moves or speed == 0):
        print("this scenario needs a simulated clock: run it on a demo store (MTS_DEMO=1) or with MTS_SIM_CLOCK=1, "
              "or in a running demo portal with --url", file=sys.stderr)
        return 2
    shown = [0]

    def progress(run) -> None:
        for e in run.timeline[shown[0]:]:
            _print_entry(e, args.lang)
        shown[0] = len(run.timeline)

    report = Run(sc, engine, clock, speed=speed, on_progress=progress, seed=args.seed).run()
    progress_run = report.timeline[shown[0]:]
    for e in progress_run:
        _print_entry(e, args.lang)
    ok = _print_outcomes([o.to_json() for o in report.outcomes], args.lang)
    if report.error:
        print(f"error: {report.error}", file=sys.stderr)
    print(f"{report.status}")
    return 0 if ok and report.status == "passed" else 1


def _scenario_over_http(args, sc) -> int:
    import httpx

    from mts_portal.core.settings import get_settings

    token = args.token or get_settings().effective_operator_token
    if not token:
        raise SystemExit("--url needs --token (or MTS_OPERATOR_TOKEN)")
    speed = 10.0 if args.speed is None else args.speed
    with httpx.Client(base_url=args.url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        r = c.post(f"/api/v1/scenarios/{sc.name}/runs", json={"speed": speed})
        if r.status_code != 202:
            print(f"the portal refused: {r.status_code} {r.text}", file=sys.stderr)
            return 2
        run_id = r.json()["id"]
        print(f"run {run_id} at ×{speed:g}")
        shown = 0
        while True:
            view = c.get(f"/api/v1/scenarios/runs/{run_id}").json()
            for e in view["timeline"][shown:]:
                _print_entry(e, args.lang)
            shown = len(view["timeline"])
            if view["status"] not in ("running",):
                break
            time.sleep(0.5)
    ok = _print_outcomes(view["outcomes"], args.lang)
    if view.get("error"):
        print(f"error: {view['error']}", file=sys.stderr)
    print(view["status"])
    return 0 if ok and view["status"] == "passed" else 1


def cmd_console_link(args) -> int:
    """Demo mode: a one-time link into the control room (printed by run.sh)."""
    from mts_portal.core import console
    from mts_portal.core.db import transact
    from mts_portal.core.errors import DomainError

    engine = _engine(args.db)
    try:
        ticket = transact(engine, lambda s: console.create_link(session=s, now=runtime.now()))
    except DomainError as exc:
        print(exc.message_en, file=sys.stderr)
        return 2
    print(f"{args.url.rstrip('/')}/api/v1/console/establish?ticket={ticket}")
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
    s.add_argument("--history-days", type=float, default=60,
                   help="days of past usage for the demo accounts, made by the simulator and rated (0: none)")
    s.add_argument("--background-days", type=float, default=7, help="days of past usage for the other lines")
    s.add_argument("--background-scale", type=float, default=0.15,
                   help="the other lines' past traffic as a share of their everyday traffic")
    s.set_defaults(fn=cmd_seed)
    r = sub.add_parser("run", help="simulated traffic: fast-forward (--days) or live (--live --rate)")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--days", type=float, default=1.0, help="fast-forward: simulated days at full speed")
    mode.add_argument("--live", action="store_true", help="live: wall clock at --rate events/s")
    mode.add_argument("--replay", metavar="FILE", help="replay a JSONL stream written with --out")
    r.add_argument("--rate", type=float, default=20.0, help="live events per second")
    r.add_argument("--duration", type=float, default=None, help="live: stop after this many seconds")
    r.add_argument("--start", help="fast-forward start (ISO-8601 with offset); default: the portal's clock")
    r.add_argument("--seed", type=int, default=42)
    r.add_argument("--run-id", help="prefix of event ids (default s<seed>-<unix time>)")
    r.add_argument("--url", help="send over HTTP to a running portal, e.g. http://127.0.0.1:3000")
    r.add_argument("--token", help="operator token for --url (default MTS_OPERATOR_TOKEN / demo token)")
    r.add_argument("--batch", type=int, default=500, help="events per request (≤ 1000)")
    r.add_argument("--out", help="write the generated stream to this JSONL file")
    r.add_argument("--duplicates", type=float, default=0.0, help="share of events sent again later")
    r.add_argument("--reorder", type=float, default=0.0, help="share of events swapped with a later one")
    r.add_argument("--malformed", type=float, default=0.0, help="share of extra malformed events")
    r.add_argument("--late", type=float, default=0.0, help="share of extra events older than 7 days")
    r.add_argument("--no-topups", action="store_true", help="subscribers never top up when blocked")
    r.set_defaults(fn=cmd_run)
    m = sub.add_parser("sms", help="a subscriber's SMS to the service number, e.g. --from 7916… --text Да")
    m.add_argument("--from", dest="sender", required=True)
    m.add_argument("--text", required=True)
    m.add_argument("--url", help="send to a running portal over HTTP")
    m.add_argument("--token")
    m.set_defaults(fn=cmd_sms)
    d = sub.add_parser("demo-logins", help="print the demo logins of a seeded store")
    d.set_defaults(fn=cmd_demo_logins)
    c = sub.add_parser("check", help="check DESIGN §5 invariants over the store")
    c.set_defaults(fn=cmd_check)
    sc = sub.add_parser("scenario", help="stories with checked outcomes: list | run NAME")
    scs = sc.add_subparsers(dest="scenario_cmd", required=True)
    sl = scs.add_parser("list", help="the scenarios, with their stories")
    sl.add_argument("--lang", choices=("ru", "en"), default="ru")
    sl.set_defaults(fn=cmd_scenario_list)
    sr = scs.add_parser("run", help="run one; exit status 1 when an outcome is not met")
    sr.add_argument("name")
    sr.add_argument("--url", help="run it in a running portal (e.g. http://127.0.0.1:3000) and follow it")
    sr.add_argument("--token", help="operator token for --url (default MTS_OPERATOR_TOKEN / demo token)")
    sr.add_argument("--speed", type=float, default=None,
                    help="scenario time ÷ wall time; 0 = fast-forward (default: 0 here, 10 with --url)")
    sr.add_argument("--seed", type=int, default=None)
    sr.add_argument("--lang", choices=("ru", "en"), default="ru")
    sr.set_defaults(fn=cmd_scenario_run)
    cl = sub.add_parser("console-link", help="demo mode: a one-time link into the control room")
    cl.add_argument("--url", default="http://127.0.0.1:3000")
    cl.set_defaults(fn=cmd_console_link)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    if args.lines <= 0 if hasattr(args, "lines") else False:
        print("--lines must be positive", file=sys.stderr)
        return 2
    return args.fn(args)
