"""The residents' portal in the demo county: a QR token for every compound, and a few
residents who sign in by phone.

Call after the users step (the sample `resident` account gets a phone too):

    from gridgov.demo import portal
    portal.portal_demo_create(rng=build.rng("portal"))

Demo phones are synthetic numbers in the 170 range (virtual operators); in
development the login code appears in the worker's log (the SMS log backend)
and in the notices outbox.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext as _

from gridgov.accounts.choices import Role
from gridgov.accounts.models import User
from gridgov.accounts.services import user_create
from gridgov.areas.models import Compound
from gridgov.portal.models import ResidentPhone
from gridgov.portal.services import compound_qr_ensure_all, phone_index_of, resident_phone_register
from gridgov.registry.identifiers import phone_mask

SAMPLE_RESIDENT_USERNAME = "resident"
DEMO_RESIDENT_PREFIX = "jm"  # 居民: jm1, jm2 … sign in by phone only
DEMO_PHONE_PREFIX = "1700"


@dataclass
class PortalDemo:
    qr_tokens_created: int = 0
    # (phone, compound name): printed by the command so that people can try the phone login.
    residents: list[tuple[str, str]] = field(default_factory=list)


def _demo_phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = f"{DEMO_PHONE_PREFIX}{rng.randrange(10**7):07d}"
        if phone not in taken and not ResidentPhone.objects.filter(phone_index=phone_index_of(phone)).exists():
            taken.add(phone)
            return phone


def portal_demo_create(*, rng: random.Random, residents: int = 3) -> PortalDemo:
    """QR tokens for every compound; a phone for the sample resident and `residents` more residents,
    each living in one of the compounds (those with the most buildings first, so the seed's grid is covered)."""
    result = PortalDemo(qr_tokens_created=compound_qr_ensure_all())
    compounds = list(
        Compound.objects.select_related("grid")
        .annotate(n=Count("buildings"))
        .order_by("-n", "grid__path", "name")[: max(residents, 1) * 4]
    )
    if not compounds:
        return result
    taken: set[str] = set()
    sample = (
        User.objects.filter(
            username=SAMPLE_RESIDENT_USERNAME, role_assignments__role=Role.RESIDENT, resident_phone__isnull=True
        )
        .prefetch_related("role_assignments__area")
        .first()
    )
    if sample is not None:
        grid_ids = {assignment.area_id for assignment in sample.role_assignments.all()}
        home: Compound | None = next((compound for compound in compounds if compound.grid_id in grid_ids), None)
        if home is None:
            home = Compound.objects.filter(grid_id__in=grid_ids).order_by("name").first()
        phone = _demo_phone(rng, taken)
        resident_phone_register(phone=phone, compound=home, user=sample)
        result.residents.append((phone, home.name if home else ""))
    for number in range(1, residents + 1):
        compound = rng.choice(compounds)
        phone = _demo_phone(rng, taken)
        # A username of our own (the service's would be random): the same seed gives the same county.
        account = user_create(
            actor=None,
            username=f"{DEMO_RESIDENT_PREFIX}{number}",
            password=None,
            full_name=_("居民%(masked)s") % {"masked": phone_mask(phone)},
        )
        resident_phone_register(phone=phone, compound=compound, user=account)
        result.residents.append((phone, compound.name))
    return result
