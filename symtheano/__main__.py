"""The command line: `python -m symtheano COMMAND`.

    python -m symtheano cache info       where the compile cache is, its size and cap
    python -m symtheano cache list       one line per entry, least recently used first
    python -m symtheano cache clear      remove every entry not being built right now
    python -m symtheano cache prune      shrink to the cap (or --max-bytes), LRU first
    python -m symtheano version          the package version
    python -m symtheano doctor           check the compiler, BLAS, OpenMP, vector math,
                                         CUDA and the compile cache (status 1: something
                                         essential is missing)

Each command is a function registered in `COMMANDS`; a new one adds a
`_add_<name>` function to that list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from symtheano.doctor import _size  # noqa: E402  (one byte-size format)


def _ago(timestamp, now):
    seconds = max(0.0, now - timestamp)
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _cache():
    from symtheano.codegen.cache import default_cache

    return default_cache()


def _cache_info(args):
    from symtheano.codegen.cache import CACHE_DIR_ENV, MAX_BYTES_ENV

    info = _cache().info()
    cap = "none" if info.max_bytes is None else _size(info.max_bytes)
    if args.json:
        print(json.dumps({**info._asdict(), "root": str(info.root)}, indent=1))
        return 0
    source = CACHE_DIR_ENV if os.environ.get(CACHE_DIR_ENV, "").strip() else "user cache dir"
    status = "ok" if info.problem is None else f"NOT USED: {info.problem}"
    if not info.exists:
        status = "does not exist yet (created by the first compile)"
    print(f"location:    {info.root}  (from {source})")
    print(f"status:      {status}")
    print(f"entries:     {info.entries}")
    print(f"total size:  {_size(info.total_bytes)}")
    if info.quarantined:
        print(f"quarantined: {info.quarantined} ({_size(info.quarantined_bytes)}), "
              f"entries that failed verification")
    print(f"size cap:    {cap}  (set {MAX_BYTES_ENV}, e.g. 2G)")
    return 0


def _cache_list(args):
    entries = _cache().entries()
    if args.json:
        rows = [{**e._asdict(), "path": str(e.path)} for e in entries]
        print(json.dumps(rows, indent=1))
        return 0
    if not entries:
        print("the compile cache is empty")
        return 0
    now = time.time()
    print(f"{'KEY':<14}{'SIZE':>10}  {'CREATED':<10}  {'LAST USED':<10}  DESCRIPTION")
    for e in reversed(entries):  # most recently used first reads best
        print(f"{e.key[:12]:<14}{_size(e.size):>10}  {_ago(e.created, now):<10}  "
              f"{_ago(e.last_used, now):<10}  {e.description}")
    return 0


def _cache_clear(args):
    cache = _cache()
    removed = cache.clear()
    print(f"removed {len(removed)} entries from {cache.root}")
    return 0


def _cache_prune(args):
    from symtheano.codegen.cache import parse_size

    cache = _cache()
    limit = cache.max_bytes if args.max_bytes is None else parse_size(args.max_bytes)
    removed = cache.prune(max_bytes=limit)
    print(f"removed {len(removed)} entries from {cache.root}; "
          f"now {_size(cache.info().total_bytes)}")
    return 0


def _add_cache(commands):
    parser = commands.add_parser("cache", help="inspect or clean the compile cache")
    sub = parser.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    for name, run, text in (("info", _cache_info, "location, entries, total size and cap"),
                            ("list", _cache_list, "one line per entry"),
                            ("clear", _cache_clear, "remove every entry"),
                            ("prune", _cache_prune, "shrink to the size cap, LRU first")):
        action = sub.add_parser(name, help=text, description=text)
        action.set_defaults(run=run)
        if name in ("info", "list"):
            action.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "prune":
            action.add_argument("--max-bytes", help="target size, e.g. 500M (default: the cap)")


def _version(args):
    from symtheano import __version__

    print(f"symtheano {__version__}")
    return 0


def _add_version(commands):
    commands.add_parser("version", help="print the package version").set_defaults(run=_version)


def _doctor(args):
    from symtheano import doctor

    results = doctor.run_checks(verify_cache=not args.quick)
    if args.json:
        print(json.dumps([r._asdict() for r in results], indent=1))
        return 1 if any(r.status == "fail" for r in results) else 0
    return doctor.report(results)


def _add_doctor(commands):
    text = "check that this machine can compile and run graphs"
    parser = commands.add_parser("doctor", help=text, description=text)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--quick", action="store_true",
                        help="do not verify the checksums of every cache entry")
    parser.set_defaults(run=_doctor)


COMMANDS = [_add_cache, _add_version, _add_doctor]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m symtheano",
                                     description="symtheano command-line tools")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # `... | head` closed the pipe: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
