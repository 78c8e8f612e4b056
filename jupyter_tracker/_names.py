"""Readable run names (``brave-otter-42``) for runs started without one."""

from __future__ import annotations

import random

_ADJECTIVES = tuple(
    " ".join(
        (
            "amber agile bold brave bright calm clever crisp eager fair gentle glad grand keen",
            "lively lucky merry mighty nimble noble proud quick quiet rapid sharp shy silent sleek",
            "smooth snowy sunny swift tidy upbeat vivid warm wise witty young zesty",
        )
    ).split()
)
_NOUNS = tuple(
    " ".join(
        (
            "ant badger bat bear beaver bison cat cobra crane crow deer dingo dove eagle eel",
            "falcon",
            "ferret finch fox frog gecko goat hare hawk heron ibis koala lark lemur lion lynx mole",
            "moth newt otter owl panda pike quail raven robin seal shark sloth swan tiger toad",
            "trout viper wasp whale wolf wren yak zebra",
        )
    ).split()
)


def run_name() -> str:
    """A fresh, readable, probably-unique run name."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(1, 999)}"
