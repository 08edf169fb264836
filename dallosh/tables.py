"""pandas as the app uses it: text columns hold Python strings.

pandas 3 stores text in pyarrow arrays whenever pyarrow is installed, and the API needs pyarrow for its Arrow
streams. The ingestion, cleaning, labelling and CSV code is tuned for Python-object strings (measured on the
100k-row pipeline: ~15-25% more CPU with pyarrow storage), so the modules that build frames import this one first.
"""

from __future__ import annotations

import pandas as pd

pd.set_option("mode.string_storage", "python")
