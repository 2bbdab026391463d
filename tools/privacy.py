"""Personal data by hand (PIPL, docs/privacy.md): export or erase one customer's data, enforce the retention windows.

    python -m tools.privacy export --customer C10086 [--out c10086.json]
    python -m tools.privacy export --conversation <conversation id>
    python -m tools.privacy erase --customer C10086 --yes
    python -m tools.privacy retention

Works on the database of `database.url` and Rasa's of `rasa.tracker_store_url` (settings.yml, SHOP_* variables).
Every export and erasure is written to the privacy record (`privacy_actions`) as "command:<your login>".
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import List, Optional

from bot.gateway.personal_data import PersonalData, PersonalDataError, Subject
from bot.gateway.rasa_trackers import RasaTrackers
from bot.gateway.retention import RetentionWindows, enforce
from core.db import create_database_engine, database_url, upgrade_schema
from core.settings import settings


def _subject_arguments(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--customer", help="the verified customer id the shop signs (conversations.customer_id)")
    who.add_argument("--conversation", help="one conversation id (an anonymous visitor)")


def main(argv: Optional[List[str]] = None, out=None) -> int:
    """Runs one command; 0 on success, 1 when it could not be done (the reason on stderr)."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m tools.privacy", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write one customer's data as JSON")
    _subject_arguments(export)
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    erase = commands.add_parser("erase", help="erase one customer's data (the figures stay, unlinked)")
    _subject_arguments(erase)
    erase.add_argument("--yes", action="store_true", help="really erase (it cannot be undone)")
    commands.add_parser("retention", help="apply the retention windows of settings.yml section privacy now")
    args = parser.parse_args(argv)

    values = settings()
    engine = create_database_engine(database_url())
    upgrade_schema(engine)
    trackers = RasaTrackers(str((values.get("rasa") or {}).get("tracker_store_url") or "sqlite:///var/rasa-trackers.db"))
    actor = f"command:{getpass.getuser()}"
    try:
        if args.command == "retention":
            counts = enforce(engine, trackers, RetentionWindows.from_settings(values.get("privacy") or {}))
            out.write(json.dumps(counts, ensure_ascii=False) + "\n")
            return 0
        subject = Subject.of(customer_id=args.customer, conversation_id=args.conversation)
        data = PersonalData(engine, trackers)
        if args.command == "export":
            text = json.dumps(data.export(subject, actor), ensure_ascii=False, indent=2)
            if args.out:
                args.out.write_text(text + "\n", encoding="utf-8")
            else:
                out.write(text + "\n")
            return 0
        if not args.yes:
            sys.stderr.write(f"Erasing the data of {subject.kind} {subject.value} cannot be undone: "
                             "run again with --yes (export it first if the customer asked for a copy).\n")
            return 1
        out.write(json.dumps(data.erase(subject, actor).counts, ensure_ascii=False) + "\n")
        return 0
    except PersonalDataError as error:
        sys.stderr.write(f"{error}\n")
        return 1
    finally:
        trackers.close()
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
