"""Qt-free MRML adapter of the NACResistance module: MRML nodes <-> numpy arrays (see ``adapter``).

A sub-package, not a ``.py`` file next to ``NACResistance.py``: Slicer treats every ``.py`` file in a
module folder as a module of its own.
"""
