"""pingouin's ICC table as the tests' reference, with its labels mapped to ours across pingouin versions.

pingouin < 0.6 labels the rows ``ICC1, ICC2, ICC3, ICC1k, ...`` and names the interval ``CI95%``;
pingouin >= 0.6 labels them as McGraw & Wong ``ICC(1,1), ICC(A,1), ICC(C,1), ...`` and names it ``CI95``.
The statistics are the same: ICC2 = ICC(A,1) = Shrout & Fleiss ICC(2,1) (two-way, absolute agreement,
single rater); ICC3 = ICC(C,1) = ICC(3,1) (two-way, consistency, single rater).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin

from NACResistanceLib.robustness import ICC_ABSOLUTE, ICC_CONSISTENCY

PINGOUIN_LABELS = {"ICC2": ICC_ABSOLUTE, "ICC(A,1)": ICC_ABSOLUTE, "ICC3": ICC_CONSISTENCY, "ICC(C,1)": ICC_CONSISTENCY}


def pingouin_icc(ratings: np.ndarray) -> pd.DataFrame:
    """pingouin's ICC(2,1) and ICC(3,1) rows for one feature ``ratings`` (n_subjects, n_raters).

    Index: our type names (``ICC_ABSOLUTE``, ``ICC_CONSISTENCY``); columns ``ICC``, ``F``, ``pval``,
    ``CI95`` (the interval rounded to 2 decimals by pingouin).
    """
    n, k = ratings.shape
    long = pd.DataFrame({"subject": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n),
                         "value": np.asarray(ratings, dtype=float).ravel()})
    table = pingouin.intraclass_corr(long, targets="subject", raters="rater", ratings="value")
    table = table.rename(columns={"CI95%": "CI95"})
    table = table[table["Type"].isin(list(PINGOUIN_LABELS))]
    return table.assign(Type=table["Type"].map(PINGOUIN_LABELS)).set_index("Type")
