"""Report sections contributed by analyses outside the main study (reproducibility, delta radiomics)."""

from __future__ import annotations

from .reproducibility import (
    ReportSection,
    delta_section,
    delta_section_from,
    reproducibility_section,
    reproducibility_section_from,
    standalone_page,
)

__all__ = ["ReportSection", "delta_section", "delta_section_from", "reproducibility_section",
           "reproducibility_section_from", "standalone_page"]
