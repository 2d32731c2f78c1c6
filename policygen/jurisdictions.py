"""The ids of the laws a tenant can declare (`jurisdictions:` in tenant.yaml), named once.

The facts' model accepts these, `new-tenant` and `init` offer them, and each has a checklist in
data/checklists/. Kept apart from the model so the command line can offer them without loading it.
"""

from __future__ import annotations

from typing import Literal, get_args

Jurisdiction = Literal["eu_gdpr", "uk_gdpr", "us_ca", "in_dpdp"]
JURISDICTIONS: tuple[Jurisdiction, ...] = get_args(Jurisdiction)
