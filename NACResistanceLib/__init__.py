"""NACResistanceLib: predict resistance to neoadjuvant chemotherapy from pre-treatment breast MRI.

Research use only: not a medical device, not for clinical decisions.

The package never imports ``slicer``, ``qt``, ``ctk`` or ``vtk``; the Slicer module and the
``nacresistance`` command line are thin front doors over it.
"""

from __future__ import annotations

__version__ = "0.1.0"

RESEARCH_USE_ONLY = (
    "Research use only: NACResistance is not a medical device and must not be used for clinical decisions."
)
