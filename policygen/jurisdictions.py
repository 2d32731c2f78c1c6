"""The ids of the laws a tenant can declare (`jurisdictions:` in tenant.yaml), named once.

The facts' model accepts these, `new-tenant` and `init` offer them, and each has a checklist in
data/checklists/. Kept apart from the model so the command line can offer them without loading it.
"""

from __future__ import annotations

from typing import Literal, get_args

Jurisdiction = Literal["eu_gdpr", "uk_gdpr", "us_ca", "us_va", "us_co", "us_ct", "us_tx", "us_or", "in_dpdp"]
JURISDICTIONS: tuple[Jurisdiction, ...] = get_args(Jurisdiction)
# The comprehensive US state privacy laws: they share one clause set (content/_partials/law.md).
US_STATE_LAWS: tuple[Jurisdiction, ...] = tuple(j for j in JURISDICTIONS if j.startswith("us_"))
